"""The memory guide's verdicts in one short table, at the sizes users run: what the
README shows from the newest committed bench run (its report's guide section has every
size, interval and pair)."""

from __future__ import annotations

from harness import guide
from harness.compare.configs import size_label

USER_SIZES = (1000, 5000)
"""The project sizes the short table shows (issue 28: the sizes users run)."""


def _changes(row: guide.GuideRow, size: int) -> str:
    """The medians of the metrics judged at ``size`` (the claim's, or a pair's own):
    'memory -47%, time -70%'."""
    judged = [m for p in row.pairs if p.size == size for m in (p.metrics or row.option.metrics)]
    by_metric = row.over_pairs.get(size) or {}
    parts = [
        f"{m} {c.ratio - 1:+.0%}"
        for m in dict.fromkeys(judged)
        if (c := by_metric.get(m)) is not None
    ]
    return ", ".join(parts)


def _cell(row: guide.GuideRow, size: int) -> str:
    """One size's cell: its verdict and the claimed metrics' medians, or the cost per slot."""
    if row.verdict == guide.PER_SLOT:
        costs = [c for c in row.slot_costs if c.size == size and c.memory is not None]
        if not costs:
            return "not measured"
        c = costs[0]
        assert c.memory is not None
        seconds = f", {c.time.slope:+.1f} s" if c.time is not None else ""
        return f"{c.memory.slope:+.0f} MiB{seconds} per extra slot"
    verdict = row.size_verdicts.get(size)
    if verdict is None and (unjudged := row.unjudged_text(size)):
        return unjudged
    if verdict is None:
        return "-" if row.verdict == guide.NO_EFFECT else "not measured"
    changes = _changes(row, size)
    return f"{verdict}: {changes}" if changes and verdict not in guide.SILENT else verdict


def guide_summary(rows: list[guide.GuideRow], sizes: tuple[int, ...] = USER_SIZES) -> str:
    """A markdown table: each guide option, its verdict over every size (with the evidence
    where the installed Cosmos never uses the option), and its verdict with the judged
    metrics' median change at each of ``sizes``."""
    head = "| # | guide option | verdict, every size | " + " | ".join(
        f"{size_label(s)}" for s in sizes
    ) + " |"
    lines = [head, "|---|---|---|" + "---|" * len(sizes)]
    for r in rows:
        cells = " | ".join(_cell(r, s) for s in sizes)
        why = f" ({r.reason})" if r.verdict == guide.NO_EFFECT and r.reason else ""
        lines.append(f"| {r.option.number} | {r.option.title} | {r.verdict}{why} | {cells} |")
    return "\n".join(lines)
