"""The upgrade pairs (harness.compare.upgrade) as table cells: one row per pair, each cell
lines of plain text. The report's section "What upgrading does" (harness.report) and
`harness compare` (markdown or one line per pair) lay out the same cells."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.compare.effect import MIN_EFFECT
from harness.compare.format import fmt_percent, fmt_value
from harness.compare.stats import Change
from harness.compare.upgrade import METRICS, UpgradePair

HEADER = ("what differs", "from -> to", "phase", "size", "other options", "peak memory",
          "wall time", "largest Celery worker", "repetitions", "note")  # fmt: skip
UNITS = {"memory": "bytes", "time": "s", "worker": "bytes"}
COLUMN = dict(zip(METRICS, HEADER[5:8], strict=True))
TITLE = "What upgrading does"
SETTINGS_TITLE = "Cosmos settings beyond the guide"
LEGEND = (
    "Each row pairs two scenarios of one phase and size that differ only in what the first "
    "column names; the change is median(to) / median(from), the older release or the "
    "smaller value as *from*. Verdicts as the guide table's: Student's t on the log values "
    "over the repetitions, the p-values of one column's pairs adjusted together "
    f"(Benjamini-Hochberg); a change under {MIN_EFFECT:.0%} counts as none (*no difference* "
    f"when two one-sided tests show it within ±{MIN_EFFECT:.0%}, *cannot tell* when the "
    "interval is wider, *not seen* when untested); a side that failed every repetition "
    "(timeout, OOM kill, error) decides the pair (*avoids a failure*: *from* failed; *fails "
    "where the other does not*: *to* failed). Largest change first. The peak of a Celery "
    "DAG run is its scheduler loop's; its largest worker has a column of its own."
)


def _size(size: int | str | None) -> str:
    if size is None:
        return "no project"
    return f"{size} models" if isinstance(size, int) else str(size)


def _fmt(name: str, value: Any) -> str:
    if isinstance(value, bool):
        value = "on" if value else "off"
    return f"{name}={value}"


def varying(pairs: Sequence[UpgradePair]) -> list[str]:
    """The other options that take more than one value among the pairs of one phase
    (first-seen order): the ones a reader needs to tell the rows apart."""
    seen: dict[tuple[str, str], set[str]] = {}
    for p in pairs:
        for k, v in p.other.items():
            seen.setdefault((p.phase, k), set()).add(repr(v))
    found = [k for (_, k), vals in seen.items() if len(vals) > 1 and k != "models"]
    return list(dict.fromkeys(found))


def shown(pairs: Sequence[UpgradePair]) -> tuple[str, ...]:
    """The metrics of the table: memory and time, and the Celery workers' when measured."""
    return tuple(m for m in METRICS if m != "worker" or any(m in p.changes for p in pairs))


def header(metrics: Sequence[str]) -> list[str]:
    """HEADER without the columns of the metrics not shown."""
    left_out = {COLUMN[m] for m in METRICS if m not in metrics}
    return [h for h in HEADER if h not in left_out]


def change_lines(c: Change, unit: str) -> tuple[str, ...]:
    """ "612 -> 734 MiB +19.9%" and its 95% interval, when tested."""
    base, new = fmt_value(c.base.median, unit), fmt_value(c.new.median, unit)
    if base.endswith(" MiB") and new.endswith(" MiB"):
        base = base[: -len(" MiB")]
    out = [f"{base} -> {new} {fmt_percent(c.ratio)}"]
    if c.ci_low is not None and c.ci_high is not None:
        out.append(f"CI {fmt_percent(c.ci_low, 0)}..{fmt_percent(c.ci_high, 0)}")
    return tuple(out)


def metric_lines(p: UpgradePair, metric: str) -> tuple[str, ...]:
    """The verdict of one metric, then its figures (none when a side failed)."""
    verdict = p.verdicts.get(metric)
    if verdict is None:
        return ()
    c = p.changes.get(metric)
    return (verdict, *(change_lines(c, UNITS[metric]) if c is not None else ()))


def row_lines(
    p: UpgradePair, axes: Sequence[str], metrics: Sequence[str] = METRICS
) -> list[tuple[str, ...]]:
    """The cells of one pair (``header(metrics)``'s columns); ``axes``: the other options
    to name."""
    other = ", ".join(_fmt(k, p.other.get(k)) for k in axes if p.other.get(k) is not None)
    return [
        (p.differs,),
        (f"{p.base} -> {p.new}",),
        (p.phase,),
        (_size(p.size),),
        (other or "-",),
        *(metric_lines(p, m) for m in metrics),
        (f"{p.repetitions[0]} / {p.repetitions[1]}",),
        (p.failed,) if p.failed else (),
    ]


def split(pairs: Sequence[UpgradePair]) -> tuple[list[UpgradePair], list[UpgradePair]]:
    """(releases of the stack, Cosmos settings beyond the guide), each in rank order."""
    return [p for p in pairs if p.release], [p for p in pairs if not p.release]


def markdown(pairs: Sequence[UpgradePair], title: str = TITLE) -> str:
    """The pairs as a markdown section ("" when there are none)."""
    if not pairs:
        return ""
    axes, metrics = varying(pairs), shown(pairs)
    head = header(metrics)
    out = [f"## {title}", "", LEGEND, "", "| " + " | ".join(head) + " |",
           "|" + "---|" * len(head)]  # fmt: skip
    for p in pairs:
        cells = ["<br>".join(x.replace("|", "\\|") for x in c)
                 for c in row_lines(p, axes, metrics)]  # fmt: skip
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def plain_lines(pairs: Sequence[UpgradePair]) -> list[str]:
    """One line per pair for the terminal ("" list when there are none)."""
    if not pairs:
        return []
    axes, metrics = varying(pairs), shown(pairs)
    out = [f"{TITLE} (largest change first; verdicts as the guide table's):"]
    for p in pairs:
        cells = row_lines(p, axes, metrics)
        head = f"{p.differs} {p.base} -> {p.new}  {p.phase} {_size(p.size)}  [{cells[4][0]}]"
        figures = [f"{COLUMN[m]}: {'; '.join(c)}" for m, c in zip(metrics, cells[5:], strict=False)
                   if c]  # fmt: skip
        note = f"  ({p.failed})" if p.failed else ""
        out.append(f"  {head}  " + "  ".join(figures) + note)
    return out
