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
    # pooled log-sd of the recorded repetitions (bench and concurrency baselines)
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
    # the test's own model: exactly 5%; asserted at most 6% (the simulation's error)
    assert _fpr(None, nb, nn, history, seed=nb * 100 + nn * 10 + history) <= 0.06


@pytest.mark.parametrize(("nb", "nn"), [(2, 2), (3, 3), (5, 5), (2, 3)])
def test_false_positive_rate_at_most_5_percent_on_recorded_noise(nb: int, nn: int) -> None:
    # the recorded mixture (heavy tails): the pooled variance makes it conservative
    rng = np.random.default_rng(nb * 7 + nn)
    pool = np.concatenate([residuals("memory"), residuals("time")])
    assert _fpr(lambda k: rng.choice(pool, k), nb, nn, 0, seed=1) <= 0.05


def test_one_against_one_without_a_known_spread_is_too_few_repetitions() -> None:
    c = compare_samples([100.0], [200.0])
    assert c.significant is None and c.test == "none" and c.ratio == 2.0
    assert verdict(c, 0.10) == UNTESTED_WORSE
    # ... and with the spread of earlier nights it can be judged
    known = KnownSpread.of([[100.0], [101.0], [99.0], [100.5]])
    judged = compare_samples([100.0], [130.0], known=known)
    assert judged.significant and judged.test == "t-test, known spread"


def test_power_formula_matches_simulation() -> None:
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


def _nights(history: int, seed: int) -> tuple[int, dict[int, list[int]]]:
    """Nights failing on pure noise, and per repetition count [caught, injected] of a +30%
    memory regression a night at each count (nightly.toml's shape, recorded noise)."""
    rng = np.random.default_rng(seed)
    shape = nightly_shape()
    failing, power_by_n = 0, {}
    for _ in range(NIGHTS):
        earlier = [simulated_run(rng, f"night-{i}", shape) for i in range(history)]
        base = simulated_run(rng, "base", shape)
        past = [*earlier, base] if history else []
        failing += compare_runs(base, simulated_run(rng, "new", shape), history=past).has_regression
        # one +30% regression per repetition count the nightly uses, so each is measured
        by_reps: dict[int, list[tuple[str, str, int]]] = {}
        for item in shape:
            by_reps.setdefault(item[2], []).append(item)
        picked = [group[rng.integers(len(group))] for group in by_reps.values()]
        new = simulated_run(rng, "new", shape, {sid: 1.3 for sid, _, _ in picked})
        found = {sid for sid, key in compare_runs(base, new, history=past).regressions}
        for sid, _, n in picked:
            counts = power_by_n.setdefault(n, [0, 0])
            counts[0] += sid in found
            counts[1] += 1
    return failing, power_by_n


@pytest.mark.parametrize(
    "history",
    [
        0,
        pytest.param(
            4,
            marks=pytest.mark.xfail(
                strict=True,
                reason="known gap: with 4 earlier nights 3 of 20 noise nights fail (seeded)",
            ),
        ),
    ],
)
def test_nightly_on_noise_fails_at_most_one_night_in_20_and_catches_30_percent(
    history: int,
) -> None:
    failing, by_n = _nights(history, seed=11 + history)
    # ~500 comparisons a night: at most 5% of the nights may fail on noise
    assert failing <= 0.05 * NIGHTS
    caught = {n: c / t for n, (c, t) in by_n.items()}
    print(f"history {history}: {failing}/{NIGHTS} noise nights fail; caught by reps {caught}")
    # measured (README): no history 3 reps 93%, 2 reps 79%, 1 rep 0% (too few);
    # 4 earlier nights: see the README. Asserted with room for the 20 nights' chance.
    assert caught[3] >= 0.85 and caught[5] >= 0.9, caught
    assert caught[2] >= (0.85 if history else 0.6), caught
    if history:  # single repetitions: the earlier nights' spread makes them judgeable
        assert caught[1] >= 0.7, caught
    else:
        assert caught[1] == 0.0, caught


def test_pyperf_style_stability() -> None:
    # VIRTUALENV with partial parse on peaked at 389 and 613 MiB in its two runs
    s = check([389.0, 613.0])
    assert s.unstable and s.cv == pytest.approx(0.316, abs=0.001)
    assert not check([500.0, 505.0, 498.0]).unstable
    assert not check([500.0]).checked
    assert check([100.0, 100.0, 100.0, 100.0, 300.0]).reasons[-1].startswith("maximum")
