"""The model DAG of a synthetic project: which models exist and what each reads.

Pure data, no files: :func:`build_graph` turns (models, shape, seed) into a
:class:`Graph` whose nodes are already in topological order (every parent has a
smaller index than its child), so the graph is acyclic by construction.
Everything random comes from one ``random.Random`` seeded with a string built
from the arguments, so the same arguments give the same graph on every machine
and Python run (string seeds do not depend on PYTHONHASHSEED).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

SHAPES: tuple[str, ...] = ("chain", "layered", "wide", "random")
"""The project shapes ``harness generate --shape`` accepts."""

MIN_MODELS = 10
MAX_MODELS = 10_000

LAYERS: tuple[str, ...] = ("staging", "intermediate", "marts")
"""Folders under models/, in the order data flows through them."""

LAYER_PREFIX = {"staging": "stg", "intermediate": "int", "marts": "fct"}

MATERIALIZATIONS: tuple[str, ...] = ("view", "table", "ephemeral", "incremental")

# Raw tables, one CSV seed each. Names rather than numbers so that a generated
# project reads like a warehouse; 20 is enough for the largest projects.
SOURCE_TABLES: tuple[str, ...] = (
    "customers", "orders", "payments", "products", "stores",
    "suppliers", "shipments", "invoices", "refunds", "sessions",
    "events", "accounts", "employees", "campaigns", "inventory",
    "returns", "reviews", "subscriptions", "tickets", "warehouses",
)  # fmt: skip

DOMAINS: tuple[str, ...] = ("finance", "marketing", "operations", "product")

# A view (or an ephemeral CTE) over a view over a view... makes DuckDB re-bind
# the whole stack on every query, and a 5000-model chain of views would nest
# 5000 deep. Real projects materialise every few layers; so do we.
MAX_UNMATERIALIZED_DEPTH = 3

# Share of models (besides incremental ones) whose SQL calls a macro; the rest
# are plain ref/source/config models that dbt's static parser handles.
MACRO_SHARE = 0.5

# Fan-in cap of the random shape: the tail is heavy, but a model joining
# hundreds of parents is not something a real project has.
MAX_RANDOM_PARENTS = 25

_MATERIALIZATION_WEIGHTS: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "staging": (("view", "ephemeral", "table"), (8, 1, 1)),
    "intermediate": (("view", "ephemeral", "table", "incremental"), (45, 20, 25, 10)),
    "marts": (("table", "incremental", "view"), (6, 3, 1)),
}


@dataclass(frozen=True)
class Node:
    """One model of the project."""

    index: int
    """Position in topological order; every parent's index is smaller."""
    name: str
    """dbt model name (file stem), unique in the project."""
    layer: str
    """One of LAYERS: the folder under models/ and a tag."""
    parents: tuple[int, ...]
    """Indexes of the models this one ref()s; empty for staging models."""
    source: str | None
    """For staging models, the raw table (seed and source) it selects from."""
    materialized: str
    """One of MATERIALIZATIONS."""
    domain: str
    """Business domain, one of DOMAINS, written as a tag."""
    uses_macros: bool
    """Whether the SQL calls the project's macros. dbt's static parser reads a
    model without Jinja rendering only if it calls nothing but ref, source and
    config; a macro call costs a full render. Real projects mix both."""


@dataclass(frozen=True)
class Graph:
    """The whole project DAG: raw tables plus models in topological order."""

    shape: str
    seed: int
    sources: tuple[str, ...]
    """Raw table names; each is a seed CSV and a table of source 'raw'."""
    nodes: tuple[Node, ...]

    def edges(self) -> list[tuple[int, int]]:
        """(parent, child) pairs between models."""
        return [(p, n.index) for n in self.nodes for p in n.parents]


@dataclass
class _Draft:
    """A node while the graph is being built (mutable, index = list position)."""

    layer: str
    parents: list[int]
    source: str | None = None


def build_graph(models: int, shape: str, seed: int = 0) -> Graph:
    """Build the DAG of ``models`` models of ``shape``, deterministically from ``seed``.

    Raises ValueError for a size outside MIN_MODELS..MAX_MODELS or an unknown shape
    (the CLI checks first and reports a UsageError; this guards the Python API).
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; expected one of {', '.join(SHAPES)}")
    if not MIN_MODELS <= models <= MAX_MODELS:
        raise ValueError(f"models must be from {MIN_MODELS} to {MAX_MODELS}, got {models}")
    rng = random.Random(f"harness-generate:{shape}:{models}:{seed}")
    sources = _pick_sources(models, shape)
    drafts = _BUILDERS[shape](models, sources, rng)
    if shape == "random":
        # Layers follow the graph here: roots stage, sinks are marts.
        has_children = {p for d in drafts for p in d.parents}
        for i, d in enumerate(drafts):
            if d.parents:
                d.layer = "intermediate" if i in has_children else "marts"
    materialized = _assign_materializations(drafts, rng)
    nodes = tuple(
        Node(
            index=i,
            name=f"{LAYER_PREFIX[d.layer]}_{i:05d}",
            layer=d.layer,
            parents=tuple(d.parents),
            source=d.source,
            materialized=materialized[i],
            domain=rng.choice(DOMAINS),
            # Incremental models always call incremental_filter (is_incremental()
            # needs Jinja anyway); others: about half of them.
            uses_macros=materialized[i] == "incremental" or rng.random() < MACRO_SHARE,
        )
        for i, d in enumerate(drafts)
    )
    return Graph(shape=shape, seed=seed, sources=sources, nodes=nodes)


def _pick_sources(models: int, shape: str) -> tuple[str, ...]:
    """How many raw tables a project has: one for a chain, few for wide, more as it grows."""
    if shape == "chain":
        count = 1
    elif shape == "wide":
        count = 3
    else:
        count = max(3, min(len(SOURCE_TABLES), models // 100))
    return SOURCE_TABLES[:count]


def _staging(sources: Sequence[str], count: int) -> list[_Draft]:
    """``count`` staging models, spread round-robin over the raw tables."""
    return [_Draft("staging", [], sources[i % len(sources)]) for i in range(count)]


def _chain(models: int, sources: Sequence[str], rng: random.Random) -> list[_Draft]:
    """One staging model, then each model refs the one before it."""
    drafts = _staging(sources, 1)
    for i in range(1, models):
        layer = "marts" if i == models - 1 else "intermediate"
        drafts.append(_Draft(layer, [i - 1]))
    return drafts


def _layered(models: int, sources: Sequence[str], rng: random.Random) -> list[_Draft]:
    """Staging (20 %), intermediate (55 %) and marts (25 %), as in a warehouse.

    Intermediate models join one to three earlier staging or intermediate models;
    marts join two to five intermediate (sometimes staging) models.
    """
    n_stg = max(len(sources), round(models * 0.20))
    n_mart = max(1, round(models * 0.25))
    n_int = models - n_stg - n_mart
    drafts = _staging(sources, n_stg)
    for _ in range(n_int):
        upstream = len(drafts)
        k = rng.choices((1, 2, 3), weights=(5, 3, 2))[0]
        drafts.append(_Draft("intermediate", sorted(rng.sample(range(upstream), min(k, upstream)))))
    int_range = range(n_stg, n_stg + n_int) if n_int > 0 else range(n_stg)
    for _ in range(n_mart):
        k = rng.randint(2, 5)
        picked = set(rng.sample(int_range, min(k, len(int_range))))
        if rng.random() < 0.2:
            picked.add(rng.randrange(n_stg))
        drafts.append(_Draft("marts", sorted(picked)))
    return drafts


def _wide(models: int, sources: Sequence[str], rng: random.Random) -> list[_Draft]:
    """One staging model per raw table; every other model hangs off one or two of them."""
    n_stg = len(sources)
    drafts = _staging(sources, n_stg)
    for _ in range(models - n_stg):
        k = 1 if rng.random() < 0.8 else 2
        drafts.append(_Draft("marts", sorted(rng.sample(range(n_stg), k))))
    return drafts


def _random(models: int, sources: Sequence[str], rng: random.Random) -> list[_Draft]:
    """Heavy-tailed DAG, like dbt's 2000-model benchmark project.

    A few roots stage the raw tables. Each later model draws its fan-in from a
    Pareto distribution (most join one or two parents, a few join dozens) and
    picks parents by preferential attachment: a model already used by many is
    more likely to be used again, so fan-out is heavy-tailed too.
    """
    n_roots = max(len(sources), models // 20)
    drafts = _staging(sources, n_roots)
    # The urn holds each model once plus once per child it has: a uniform draw
    # from it is a draw weighted by 1 + fan-out, in O(1).
    urn = list(range(n_roots))
    for i in range(n_roots, models):
        k = min(int(rng.paretovariate(1.2)), MAX_RANDOM_PARENTS, i)
        parents: list[int] = []
        # A bounded number of draws keeps this O(k); duplicates are dropped, so
        # a popular model's fan-in is "up to k", which keeps the tail heavy.
        for _ in range(3 * k):
            p = rng.choice(urn)
            if p not in parents:
                parents.append(p)
                if len(parents) == k:
                    break
        parents.sort()
        drafts.append(_Draft("intermediate", parents))
        urn.extend(parents)
        urn.append(i)
    return drafts


_Builder = Callable[[int, Sequence[str], random.Random], list[_Draft]]
_BUILDERS: dict[str, _Builder] = {
    "chain": _chain,
    "layered": _layered,
    "wide": _wide,
    "random": _random,
}


def _assign_materializations(drafts: Sequence[_Draft], rng: random.Random) -> list[str]:
    """A materialisation per model: drawn by layer, then made safe and complete.

    Safe (see :func:`_is_safe`): an ephemeral model has no ephemeral parent
    (nested CTEs stay one deep), and no stack of views/ephemerals is deeper
    than MAX_UNMATERIALIZED_DEPTH. Complete: every materialisation appears at
    least once, so even a 10-model project exercises view, table, ephemeral and
    incremental.
    """
    mats = []
    for d in drafts:
        choices, weights = _MATERIALIZATION_WEIGHTS[d.layer]
        mats.append(rng.choices(choices, weights=weights)[0])

    # Make it safe in one topological pass: parents are final before children.
    depth = [0] * len(drafts)
    for i, d in enumerate(drafts):
        if mats[i] == "ephemeral" and any(mats[p] == "ephemeral" for p in d.parents):
            mats[i] = "view"
        if mats[i] in ("view", "ephemeral"):
            depth[i] = 1 + max((depth[p] for p in d.parents), default=0)
            if depth[i] > MAX_UNMATERIALIZED_DEPTH:
                mats[i] = "table"
                depth[i] = 0

    # Make it complete: give a missing kind to some model, searching from the
    # end (where marts are). Only small projects ever miss a kind, so checking
    # each trial against the whole graph is cheap; the cap bounds the worst case.
    children: list[list[int]] = [[] for _ in drafts]
    for i, d in enumerate(drafts):
        for p in d.parents:
            children[p].append(i)
    for wanted in ("ephemeral", "view", "incremental", "table"):
        present = set(mats)
        if wanted in present:
            continue
        # An ephemeral model nobody refs is never built: only models with children.
        candidates = [
            i for i in reversed(range(len(drafts))) if wanted != "ephemeral" or children[i]
        ]
        for i in candidates[:_COVERAGE_TRIALS]:
            trial = list(mats)
            trial[i] = wanted
            if wanted == "ephemeral":
                # Its children become tables, so the new CTE is nested nowhere.
                for c in children[i]:
                    if trial[c] in ("view", "ephemeral"):
                        trial[c] = "table"
            if set(trial) >= present | {wanted} and _is_safe(drafts, trial):
                mats = trial
                break
    return mats


_COVERAGE_TRIALS = 200


def _is_safe(drafts: Sequence[_Draft], mats: Sequence[str]) -> bool:
    """No ephemeral over an ephemeral, no view/ephemeral stack deeper than the limit."""
    depth = [0] * len(drafts)
    for i, d in enumerate(drafts):
        if mats[i] == "ephemeral" and any(mats[p] == "ephemeral" for p in d.parents):
            return False
        if mats[i] in ("view", "ephemeral"):
            depth[i] = 1 + max((depth[p] for p in d.parents), default=0)
            if depth[i] > MAX_UNMATERIALIZED_DEPTH:
                return False
    return True
