"""Show a comparison: a rich table for the terminal, markdown for CI job summaries."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from harness.compare.diff import (
    IMPROVEMENT,
    NOT_SIGNIFICANT,
    REGRESSION,
    SUSPECTED,
    UNTESTED_BETTER,
    UNTESTED_WORSE,
    WITHIN,
    Comparison,
    MetricDiff,
    ScenarioDiff,
)
from harness.compare.samples import METRICS

MIB = 1024 * 1024
GIB = 1024 * MIB
_SHORT = {
    REGRESSION: "REGRESSION",
    IMPROVEMENT: "improved",
    NOT_SIGNIFICANT: "noise",
    WITHIN: "same",
    UNTESTED_WORSE: "worse? too few repetitions",
    UNTESTED_BETTER: "better? too few repetitions",
    SUSPECTED: "SUSPECTED, to confirm tomorrow",
}
SUSPECTED_TITLE = "suspected, to confirm tomorrow"
SUSPECTED_WHY = (
    "a single repetition worse past its threshold and significant, which the previous"
    " night did not show against the same BASE: it fails the gate if it stays"
)
UNCHANGED = 4
"""``rank`` of a scenario with nothing to say (listed only with --all)."""


def fmt_seconds(value: float) -> str:
    """Seconds, with a precision that suits their size."""
    return f"{value:.1f} s" if value >= 10 else f"{value:.2f} s"


def fmt_mib(value: float) -> str:
    """Bytes as MiB."""
    return f"{value / MIB:.0f} MiB"


def fmt_value(value: float, unit: str) -> str:
    """Bytes as MiB, seconds with a precision that suits their size."""
    if unit == "bytes":
        return f"{value / MIB:.0f} MiB" if value >= 10 * MIB else f"{value / MIB:.1f} MiB"
    return fmt_seconds(value)


def fmt_percent(ratio: float, digits: int = 1) -> str:
    """A ratio as a signed percent change ("+30.1%")."""
    if ratio == float("inf"):
        return "+inf%"
    return f"{(ratio - 1.0) * 100.0:+.{digits}f}%"


def metric_cell(m: MetricDiff, unit: str) -> str:
    """One metric's cell, e.g. "225 -> 290 MiB +28.9% REGRESSION (q=0.008, CI +20%..+38%)".

    Within the threshold only the figures are shown; outside it the verdict and the
    evidence (the BH q-value, or the raw p, and the 95% interval of the ratio); an
    unstable figure says so whatever its verdict."""
    c = m.change
    base, new = fmt_value(c.base.median, unit), fmt_value(c.new.median, unit)
    if base.endswith(" MiB") and new.endswith(" MiB"):
        base = base[: -len(" MiB")]
    text = f"{base} -> {new} {fmt_percent(c.ratio)}"
    if m.verdict != WITHIN:
        evidence = []
        if c.q_value is not None:
            evidence.append(f"q={c.q_value:.2g}")
        elif c.p_value is not None:
            evidence.append(f"p={c.p_value:.2g}")
        if c.ci_low is not None and c.ci_high is not None:
            evidence.append(f"CI {fmt_percent(c.ci_low)}..{fmt_percent(c.ci_high)}")
        evidence += _confirmation(m)
        detail = f" ({', '.join(evidence)})" if evidence else ""
        text = f"{text} {_SHORT[m.verdict]}{detail}"
    return f"{text} [{m.unstable_note}]" if m.unstable else text


def _confirmation(m: MetricDiff) -> list[str]:
    """What the previous night said of a single repetition's regression."""
    if not m.to_confirm or m.verdict not in (REGRESSION, SUSPECTED):
        return []
    if m.previous is None:
        return ["previous night: not measured"]
    said = "confirmed by" if m.verdict == REGRESSION else "not confirmed:"
    return [f"{said} previous night {fmt_percent(m.previous.ratio)}"]


def header_lines(cmp: Comparison) -> list[str]:
    """What was compared, how, and what may make it unfair."""
    th = cmp.thresholds
    known = (
        f"; the spread of {cmp.history_runs} earlier run(s) pooled in"
        if cmp.history_runs
        else ""
    )
    lines = [
        f"BASE {cmp.base_id} vs NEW {cmp.new_id}",
        f"thresholds: memory {th.memory:.0%}, time {th.time:.0%}, task-slot-seconds {th.slots:.0%};"
        f" significance: t-test on log values, Benjamini-Hochberg q<{cmp.alpha:g} over the"
        f" run{known}; unstable: spread past pyperf's limits (sd 10% of the mean)",
    ]
    if cmp.history_runs:
        prev = cmp.previous_id or "none given"
        lines.append(f"a single repetition's regression fails the gate only when the previous"
                     f" night ({prev}) shows it too; otherwise it is suspected")
    lines += [f"WARNING: {w}" for w in cmp.warnings]
    lines += [f"GATE FAILS: {f}" for f in cmp.run_failures]
    if cmp.version_changes:
        lines.append(
            "versions changed: " + ", ".join(f"{k} {b} -> {n}" for k, b, n in cmp.version_changes)
        )
    return lines


def summary_line(cmp: Comparison) -> str:
    """The counts, e.g. "2 regression(s), 1 improvement(s), 3 scenario(s) in both runs"."""
    only_base = sum(1 for s in cmp.scenarios if s.presence == "base only")
    only_new = sum(1 for s in cmp.scenarios if s.presence == "new only")
    both = sum(1 for s in cmp.scenarios if s.presence == "both")
    parts = [
        f"{len(cmp.regressions)} regression(s)",
        *([f"{len(cmp.suspected)} suspected (to confirm tomorrow)"] if cmp.suspected else []),
        f"{cmp.count(IMPROVEMENT)} improvement(s)",
        f"{both} scenario(s) in both runs",
    ]
    if only_base:
        parts.append(f"{only_base} only in BASE (missing from NEW)")
    if only_new:
        parts.append(f"{only_new} only in NEW")
    if cmp.unstable:
        parts.append(f"{len(cmp.unstable)} unstable figure(s)")
    if cmp.run_failures:
        parts.append(f"{len(cmp.run_failures)} run failure(s)")
    return ", ".join(parts)


def _n(s: ScenarioDiff) -> str:
    return f"{s.base_status.get('ok', 0)}/{s.new_status.get('ok', 0)}"


def _note(s: ScenarioDiff) -> str:
    if s.presence != "both":
        return s.presence
    return s.note or ""


def rank(s: ScenarioDiff) -> int:
    """0 regressed (or missing, or now failing), 1 suspected (to confirm tomorrow), 2
    improved, 3 worth a look (too few repetitions, unstable, a status note, new only),
    4 unchanged (UNCHANGED)."""
    verdicts = {m.verdict for m in s.metrics.values()}
    if s.regressed:
        return 0
    if s.suspected:
        return 1
    if IMPROVEMENT in verdicts:
        return 2
    if (verdicts & {UNTESTED_WORSE, UNTESTED_BETTER} or s.note or s.presence != "both"
            or any(m.unstable for m in s.metrics.values())):
        return 3
    return UNCHANGED


def ordered(cmp: Comparison, show_all: bool = False) -> list[ScenarioDiff]:
    """Scenarios by rank (regressions first), BASE's order within a rank; the unchanged
    ones only with ``show_all``."""
    ranked = sorted(cmp.scenarios, key=rank)
    return ranked if show_all else [s for s in ranked if rank(s) < UNCHANGED]




def _scenario_lines(s: ScenarioDiff) -> list[tuple[str, str]]:
    """(label, text) lines of one scenario: one per metric outside "same", the note."""
    r = rank(s)
    out = []
    if s.presence == "base only":
        out.append(("MISSING" if r == 0 else "missing", "in BASE, not measured in NEW"))
    elif s.presence == "new only":
        out.append(("new", "in NEW only"))
    if s.note:
        out.append(("NOW FAILS" if s.now_fails else "method" if s.method_changed else "status",
                    s.note))
    for metric in METRICS:
        m = s.metrics.get(metric.key)
        if m is None or (r < UNCHANGED and m.verdict == WITHIN and not m.unstable):
            continue
        label = {REGRESSION: "REGRESSION", SUSPECTED: "suspected", IMPROVEMENT: "improved",
                 WITHIN: "same"}.get(m.verdict, "check")
        if m.unstable and m.verdict not in (REGRESSION, IMPROVEMENT):
            label = "unstable"
        out.append((label, f"{metric.key}: {metric_cell(m, metric.unit)}"))
    return out


def render_table(cmp: Comparison, console: Console, show_all: bool = False) -> None:
    """Print the comparison one finding a line, "LABEL  full-scenario-id  metric: figures":
    regressions first, then improvements, then what needs a look; the unchanged scenarios
    only with ``show_all``. Lines are never wrapped (grep and CI logs read them whole)."""
    for line in header_lines(cmp):
        style = "yellow" if line.startswith("WARNING") else ""
        style = "bold red" if line.startswith("GATE") else style
        console.print(Text(line, style=style), soft_wrap=True)
    heading = cmp.suspected
    for s in ordered(cmp, show_all):
        if heading and rank(s) == 1:  # their own short list, after the regressions
            console.print(Text(f"{SUSPECTED_TITLE} ({SUSPECTED_WHY}):", style="yellow"))
            heading = []
        for label, text in _scenario_lines(s):
            style = _LABEL_STYLE.get(label, "")
            console.print(Text(f"{label:<10} {s.scenario_id}  {text}", style=style), soft_wrap=True)
    hidden = sum(1 for s in cmp.scenarios if rank(s) == UNCHANGED)
    if hidden and not show_all:
        console.print(f"{hidden} unchanged scenario(s) not listed (--all lists them)")
    style = "bold red" if cmp.has_regression else "green"
    console.print(Text(summary_line(cmp), style=style), soft_wrap=True)


_LABEL_STYLE = {
    "REGRESSION": "bold red", "MISSING": "bold red", "NOW FAILS": "bold red",
    "improved": "green", "unstable": "yellow", "check": "yellow", "suspected": "bold yellow",
}


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _suspected_list(cmp: Comparison) -> list[str]:
    """Markdown: the suspected regressions, one bullet each (none: nothing)."""
    if not cmp.suspected:
        return []
    out = [f"**{SUSPECTED_TITLE.capitalize()}** ({SUSPECTED_WHY}):", ""]
    for s in cmp.scenarios:
        for key in s.suspected:
            unit = next(m.unit for m in METRICS if m.key == key)
            cell = _md(metric_cell(s.metrics[key], unit))
            out.append(f"- `{_md(s.scenario_id)}` {key}: {cell}")
    return [*out, ""]


def render_markdown(cmp: Comparison, title: str | None = None, show_all: bool = True) -> str:
    """The comparison as GitHub-flavoured markdown (for $GITHUB_STEP_SUMMARY and reports),
    regressions first; without ``show_all`` the unchanged scenarios are left out."""
    out = [f"## {title or 'Cosmos memory harness: comparison'}", ""]
    for line in header_lines(cmp):
        if line.startswith("WARNING"):
            line = f"> :warning: {line[len('WARNING: ') :]}"
        elif line.startswith("GATE"):
            line = f"> :x: **{line}**"
        out.append(line)
        out.append("")
    verdict = "**REGRESSION**" if cmp.has_regression else "no regression"
    out += [f"{verdict}: {summary_line(cmp)}", ""]
    out += _suspected_list(cmp)
    hidden = sum(1 for s in cmp.scenarios if rank(s) == UNCHANGED)
    if hidden and not show_all:
        out += [f"{hidden} unchanged scenario(s) not listed (`--all` lists them).", ""]
    head = ["scenario", "ok b/n", *(m.label for m in METRICS), "note"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for s in ordered(cmp, show_all):
        row = [f"`{_md(s.scenario_id)}`", _n(s)]
        for metric in METRICS:
            m = s.metrics.get(metric.key)
            cell = _md(metric_cell(m, metric.unit)) if m else ""
            row.append(f"**{cell}**" if m and m.verdict == REGRESSION else cell)
        note = _md(_note(s))
        row.append(f"**{note}**" if s.now_fails or s.presence == "base only" else note)
        out.append("| " + " | ".join(row) + " |")
    return "\n".join(out) + "\n"
