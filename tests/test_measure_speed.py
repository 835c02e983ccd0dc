"""The machine's speed reference (harness.measure.speed)."""

from __future__ import annotations

from harness.measure.speed import LOOP_N, differ, loop_cpu_s, mixed, speed_ratio


def test_twice_the_loop_takes_about_twice_the_cpu() -> None:
    """The known truth of a timer of fixed work: it scales with the work (best of 5
    each, so a neighbour's burst slows at most some repetitions)."""
    one, two = loop_cpu_s(LOOP_N), loop_cpu_s(2 * LOOP_N)
    assert one > 0.005
    assert 1.5 < two / one < 2.6, (one, two)


def test_ten_percent_apart_is_a_different_speed() -> None:
    assert not differ(0.100, 0.109) and not differ(0.100, 0.091)
    assert differ(0.100, 0.111) and differ(0.100, 0.089)
    assert speed_ratio(0.1, 0.17) == 0.17 / 0.1


def test_a_run_mixes_speeds_when_its_extremes_differ() -> None:
    assert not mixed([]) and not mixed([0.1]) and not mixed([0.1, 0.104, 0.097])
    assert mixed([0.1, 0.105, 0.12]) and mixed([0.12, 0.1])
