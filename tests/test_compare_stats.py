"""The statistics of harness compare on simulated data: the false-positive rate on pure
noise, per comparison and over a whole nightly, and the power against a +30% memory
regression. Seeded; each test states the rate it asserts. The noise is the recorded
runs' (tests/compare_sim.py); its pooled log-sd is asserted here, as the README quotes it.
"""

from __future__ import annotations

import numpy as np
import pytest
from compare_sim import nightly_shape, residuals, simulated_run

from harness.compare.diff import UNTESTED_WORSE, compare_runs, verdict
from harness.compare.stability import check
from harness.compare.stats import KnownSpread, compare_samples, power

SIMS = 2000  # per configuration: a 5% rate is measured to +-1% (2 standard errors)


def test_recorded_noise_is_what_the_readme_quotes() -> None:
    """The pooled log-sd of the recorded repetitions (bench and concurrency baselines):
    2.6% for memory, 8.9% for time (no rate asserted: the noise the others draw from)."""
    assert residuals("memory").std() == pytest.approx(0.026, abs=0.001)
    assert residuals("time").std() == pytest.approx(0.089, abs=0.001)


def _fpr(noise: object, nb: int, nn: int, history: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    draw = noise if callable(noise) else (lambda k: rng.normal(0.0, 0.03, k))
    hits = 0
    for _ in range(SIMS):
        b, n = np.exp(draw(nb)), np.exp(draw(nn))
        known = KnownSpread.of([list(np.exp(draw(1))) for _ in range(history)])
        hits += bool(compare_samples(list(b), list(n), known=known).significant)
    return hits / SIMS


@pytest.mark.parametrize(
    ("nb", "nn", "history"),
    [(2, 2, 0), (3, 3, 0), (4, 4, 0), (5, 5, 0), (1, 2, 0), (2, 3, 0), (1, 1, 3), (1, 1, 8)],
)
def test_false_positive_rate_at_most_5_percent_on_log_normal_noise(
    nb: int, nn: int, history: int
) -> None:
    """False-positive rate per comparison on log-normal noise (the t-test's own model:
    exactly 5%), asserted at most 6% over 2000 draws (the simulation's error)."""
    assert _fpr(None, nb, nn, history, seed=nb * 100 + nn * 10 + history) <= 0.06


@pytest.mark.parametrize(("nb", "nn"), [(2, 2), (3, 3), (5, 5), (2, 3)])
def test_false_positive_rate_at_most_5_percent_on_recorded_noise(nb: int, nn: int) -> None:
    """False-positive rate per comparison on the recorded heavy-tailed mixture, balanced
    counts and 2v3, no history: at most 5% over 2000 draws (the pooled variance makes it
    conservative; measured 1-3%)."""
    rng = np.random.default_rng(nb * 7 + nn)
    pool = np.concatenate([residuals("memory"), residuals("time")])
    assert _fpr(lambda k: rng.choice(pool, k), nb, nn, 0, seed=1) <= 0.05


def test_one_against_one_without_a_known_spread_is_too_few_repetitions() -> None:
    """1 against 1 with no earlier nights is not tested (no rate to state); with four
    quiet earlier nights a +30% change of one value is significant."""
    c = compare_samples([100.0], [200.0])
    assert c.significant is None and c.test == "none" and c.ratio == 2.0
    assert verdict(c, 0.10) == UNTESTED_WORSE
    # ... and with the spread of earlier nights it can be judged
    known = KnownSpread.of([[100.0], [101.0], [99.0], [100.5]])
    judged = compare_samples([100.0], [130.0], known=known)
    assert judged.significant and judged.test == "t-test, known spread"


def test_power_formula_matches_simulation() -> None:
    """``power`` (noncentral t) against 2000 simulated 3v3 comparisons of a +20% change
    with 10% log-normal noise: within 3 points (the formula says 40%)."""
    rng = np.random.default_rng(3)
    hits = sum(
        bool(
            compare_samples(
                list(np.exp(rng.normal(0, 0.1, 3))), list(np.exp(rng.normal(np.log(1.2), 0.1, 3)))
            ).significant
        )
        for _ in range(SIMS)
    )
    assert hits / SIMS == pytest.approx(power(1.2, 0.1, 3, 3), abs=0.03)


NIGHTS = 20


def _nights(history: int, seed: int) -> tuple[int, dict[str, list[int]]]:
    """Nights failing on pure noise, and per kind [caught, injected] of a +30% memory
    regression a night (nightly.toml's shape, recorded noise). Kinds: "2", "3", "5", a
    scenario of that many repetitions regressed in NEW (its first night); "1", a single
    repetition regressed in NEW and in the newest earlier night (two nights running: only
    then may it fail the gate); "1 first", a single repetition regressed in NEW only,
    counted when listed as suspected (and "1 first failed" when it failed the gate); and
    the noise nights that list a suspect (exit code 0)."""
    rng = np.random.default_rng(seed)
    shape = nightly_shape()
    by_reps: dict[int, list[tuple[str, str, int]]] = {}
    for item in shape:
        by_reps.setdefault(item[2], []).append(item)
    failing, counts = 0, {}
    for _ in range(NIGHTS):
        earlier = [simulated_run(rng, f"night-{i}", shape) for i in range(history)]
        base = simulated_run(rng, "base", shape)
        past = [*earlier, base] if history else []
        noise = compare_runs(base, simulated_run(rng, "new", shape), history=past)
        failing += noise.has_regression
        counts.setdefault("noise nights with a suspect", [0, NIGHTS])[0] += bool(noise.suspected)
        # one +30% regression per repetition count, and two single repetitions
        picked = {str(n): g[rng.integers(len(g))][0] for n, g in by_reps.items() if n > 1}
        running, first = rng.choice([sid for sid, _, _ in by_reps[1]], 2, replace=False)
        picked |= {"1": str(running), "1 first": str(first)}
        if history:  # the newest earlier night has "1" already
            earlier[-1] = simulated_run(rng, f"night-{history - 1}", shape, {picked["1"]: 1.3})
            past = [*earlier, base]
        new = simulated_run(rng, "new", shape, {sid: 1.3 for sid in picked.values()})
        cmp = compare_runs(base, new, history=past)
        found = {sid for sid, _ in cmp.regressions}
        suspected = {sid for sid, _ in cmp.suspected}
        for kind, sid in picked.items():
            c = counts.setdefault(kind, [0, 0])
            c[0] += sid in (suspected if kind == "1 first" else found)
            c[1] += 1
        counts.setdefault("1 first failed", [0, 0])[0] += picked["1 first"] in found
    return failing, counts


# Measured 2026-12-01 (seed 11 + history, 20 nights). Before single repetitions needed
# confirming: 0 of 20 noise nights failed with no history, 6 with 2 earlier nights, 4
# with 4, 6 with 8 (the test after this one says why). Now 0, 0, 0 and 1 (a 2v2 wall
# time); a single repetition's +30% caught on its second night in 90% at 2, 4 and 8
# earlier nights, listed as suspected on its first in 90%, 80%, 95%, failing on it never;
# 5/3/2 repetitions caught in 90-100% (the README's table).


@pytest.mark.parametrize("history", [0, 2, 4, 8])
def test_nightly_on_noise_fails_at_most_one_night_in_20_and_catches_30_percent(
    history: int,
) -> None:
    """A nightly of nightly.toml's shape on the recorded noise, ``history`` earlier nights
    passed: at most 1 of 20 noise nights fails (a gate false-positive rate of 5% a night).
    Power against a +30% memory regression, asserted with room for the 20 nights' chance: at
    least 90% of the nights at 5 repetitions, 85% at 3, 80% at 2 with history (90% over the
    three histories' 60 nights on 2026-12-07's nightly; at a true 90%, 16 of 20 or fewer
    come one seed in eight) and 60% without, on its first night. A single repetition:
    without history never judged (0%); with history, a regression present two nights running
    (the newest earlier night and NEW) is caught on its second night at least 70% of the
    nights, and on its first night it never fails the gate and is listed as suspected at
    least 70% of the nights."""
    failing, counts = _nights(history, seed=11 + history)
    caught = {k: c / t for k, (c, t) in counts.items() if t}
    print(f"history {history}: {failing}/{NIGHTS} noise nights fail; caught {caught}; "
          f"first-night single repetitions failing: {counts['1 first failed'][0]}")
    assert failing <= 0.05 * NIGHTS
    assert caught["3"] >= 0.85 and caught["5"] >= 0.9, caught
    assert caught["2"] >= (0.8 if history else 0.6), caught
    assert counts["1 first failed"][0] == 0, counts
    if history:
        assert caught["1"] >= 0.7 and caught["1 first"] >= 0.7, caught
    else:  # nothing to confirm with: a single value with no known spread is never judged
        assert caught["1"] == 0.0 and caught["1 first"] == 0.0, caught


def test_one_repetition_cannot_tell_the_recorded_outlier_from_a_30_percent_regression() -> None:
    """Why a single repetition's regression must be confirmed by the previous night (an
    assertion on the data, not on the test): the recorded memory noise holds one value
    (VIRTUALENV's 613 of its 389/613 MiB pair) more than 30% above its level. The
    simulation draws it for any repetition, so each night one of nightly.toml's
    single-repetition scenarios draws it in NEW with a chance above 5% (16.5%); a value
    38% up is a regression to any test that catches 70% of +30% shifts at one repetition.
    Judged on one night, 4-6 of 20 noise nights failed with 2, 4 or 8 earlier nights; the
    same scenario drawing it two nights running has a chance of about (1/376)^2."""
    memory = residuals("memory")
    above = int((memory > np.log(1.3)).sum())
    pair = np.log(612.7 / 389.0) / np.sqrt(2)  # the pair's residual, scaled as residuals()
    assert above == 1 and memory.max() == pytest.approx(pair, abs=0.002)
    singles = sum(1 for _, _, n in nightly_shape() if n == 1)
    night_has_it = 1.0 - (1.0 - above / memory.size) ** singles
    assert singles == 68 and night_has_it == pytest.approx(0.165, abs=0.005)
    assert night_has_it > 0.05


def test_pyperf_style_stability() -> None:
    """pyperf's limits on recorded and made-up repetitions (no rate: a flag, not a test)."""
    # VIRTUALENV with partial parse on peaked at 389 and 613 MiB in its two runs
    s = check([389.0, 613.0])
    assert s.unstable and s.cv == pytest.approx(0.316, abs=0.001)
    assert not check([500.0, 505.0, 498.0]).unstable
    assert not check([500.0]).checked
    assert check([100.0, 100.0, 100.0, 100.0, 300.0]).reasons[-1].startswith("maximum")
