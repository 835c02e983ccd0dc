"""The report's sections on Cosmos's memory guide: the guide table (each option's
change at each size and its verdict) and, as a collapsed appendix, every measured pair."""

from __future__ import annotations

from harness import guide
from harness.compare.configs import size_label, sorted_sizes
from harness.guide.options import GuideOption
from harness.guide.slots import slot_lines
from harness.report.text import change_text, fmt_pct, over_pairs_text
from harness.report.view import Section, Table, TableCell, cell

VERDICT_CSS = {
    guide.CONFIRMED: "good",
    guide.AVOIDS: "good",
    guide.OPPOSITE: "bad",
    guide.MIXED: "warn",
    guide.NO_EFFECT: "warn",
    guide.NOT_SEEN: "",
    guide.PER_SLOT: "",
    guide.CANNOT_TELL: "muted",
    guide.UNTESTED: "muted",
    guide.BOTH_FAILED: "muted",
    guide.NOT_MEASURED: "muted",
}

GUIDE_INTRO = (
    'Each row is an option of Cosmos\'s "Memory Optimization Options" page. The cells give '
    "the change with the option against without it, at each project size, and that size's "
    "verdict; the last column is the option's verdict over every size and phase, where "
    "they disagree, and what qualifies it."
)
VERDICTS = (
    "Verdicts: *confirmed* (a significant improvement of the claimed metric whose median "
    f"over the pairs is beyond the {guide.MIN_EFFECT:.0%} floor; a significant change under "
    "it is *not seen*), *avoids a failure* (the side without the option timed out, was "
    "OOM-killed or failed every repetition while the option's side succeeded: shown with "
    "the margin it had to the limit), *not seen* (no significant difference beyond the "
    "floor), *the opposite* (a significant worsening beyond the floor, or a failure on the "
    "option's side only), *mixed* (sizes or phases disagree: the verdict cell says where), "
    "*too few repetitions* (one repetition on a side), *both failed*, *not measured* (no "
    "scenarios that differ only in this option). Debug mode's claim, \"minimal overhead\", "
    "is an equivalence claim: *confirmed* only when two one-sided t-tests put the change "
    f"within ±{guide.MIN_EFFECT:.0%} (the 90% interval inside the margin), *cannot tell* "
    "when the interval is wider. *no effect in this version*: the installed Cosmos reads "
    "the option's setting and uses it nowhere (its source searched when the report is "
    "made). Concurrency gets its *cost per slot*: the slope of a least-squares line of the "
    "peak (MiB) and of the wall time (s) against the concurrency, with its 95% interval. "
    "WATCHER against LOCAL is not judged on a DAG run of N of the models (run_nodes): the "
    "slice meets a LOCAL worker's peak, but WATCHER's producer then builds N models, not "
    "the project, and its peak grows with the models it builds."
)


def verdict_cell(verdict: str, *more: str) -> TableCell:
    """A verdict, strong and coloured by what it says (then what qualifies it)."""
    css = f"verdict {VERDICT_CSS.get(verdict, '')}".strip()
    return cell([verdict, *(m for m in more if m)], strong=True, css=css)


def _failure_lines(pairs: list[guide.Pair]) -> list[str]:
    out = []
    for p in pairs:
        if p.failure in (guide.AVOIDS, guide.FAILS):
            margin = f"; {p.margin}" if p.margin else ""
            out.append(f"{p.failure} ({p.place or p.phase}): {p.failed}{margin}")
        elif p.failure == guide.BOTH_FAILED:
            out.append(f"{p.place or p.phase}: {p.failed}")
    return list(dict.fromkeys(out))


def _size_cell(row: guide.GuideRow, size: int | str | None) -> TableCell:
    if row.verdict == guide.PER_SLOT:
        lines = [line for c in row.slot_costs if c.size == size for line in slot_lines(c)]
        return cell(lines or None)
    by_metric = row.over_pairs.get(size) or {}
    lines = [over_pairs_text(m, c) for m in ("memory", "time", "slots") if (c := by_metric.get(m))]
    lines += _failure_lines([p for p in row.pairs if p.size == size and p.acted])
    if not lines and (unjudged := row.unjudged_text(size)):
        return cell([unjudged])
    if not lines:
        return cell(None)
    return cell([*lines, f"[{row.size_verdicts.get(size, guide.NOT_MEASURED)}]"])


def _verdict_lines(row: guide.GuideRow) -> list[str]:
    more = [row.where, *(row.notes if row.verdict != guide.NO_EFFECT else ())]
    if row.reason and row.verdict in (guide.NO_EFFECT, guide.NOT_MEASURED):
        more.insert(0, row.reason)
    return more


def guide_section(rows: list[guide.GuideRow]) -> Section:
    """The guide table: one row per option, one column per size, then the verdict."""
    sizes = sorted_sizes(
        [s for r in rows for s in r.over_pairs] + [c.size for r in rows for c in r.slot_costs]
    )
    table = Table(
        [
            "#",
            "option",
            "guide's impact",
            "measured by",
            *(size_label(s) for s in sizes),
            "verdict",
        ],
        id="guide",
        row_css="option",
    )
    for r in rows:
        o = r.option
        table.rows.append(
            [
                cell(o.number),
                cell(o.title),
                cell(f"{o.impact}: {o.claim}"),
                cell("; ".join(c.label for c in o.contrasts)),
                *(_size_cell(r, s) for s in sizes),
                verdict_cell(r.verdict, *_verdict_lines(r)),
            ]
        )
    return Section(
        "The memory guide, measured",
        id="guide-section",
        intro=[GUIDE_INTRO],
        tables=[table],
        notes=[VERDICTS],
    )


def _outcome_lines(option: GuideOption, p: guide.Pair) -> list[str]:
    """A pair's outcome: the failure that decided it, or each claimed metric's (with the
    equivalence test where the claim is of no overhead)."""
    if p.failure is not None:
        return [p.failure, p.failed, *([p.margin] if p.margin else [])]
    out = []
    for m in p.metrics or option.metrics:
        if m not in p.changes:
            continue
        e = p.equivalence.get(m)
        if e is not None and e.ci_low is not None and e.ci_high is not None:
            shown = "equivalent" if e.equivalent else "not shown equivalent"
            out.append(f"{m}: {shown} (90% CI {fmt_pct(e.ci_low)}..{fmt_pct(e.ci_high)})")
        else:
            out.append(f"{m}: {p.outcome(m)}")
    return out


def _differing(with_id: str, without_id: str) -> str:
    """The parts of the twin's id that differ from the option's id (what the pair varies)."""
    mine = set(with_id.split("/"))
    return "/".join(part for part in without_id.split("/") if part not in mine) or without_id


def pairs_section(rows: list[guide.GuideRow]) -> Section | None:
    """Every measured pair behind the guide table (an appendix, collapsed in the HTML)."""
    table = Table(
        [
            "#",
            "contrast",
            "size",
            "with the option",
            "the twin without it differs in",
            "with vs without: median (spread), change",
            "outcome",
        ],
        id="guide-pairs",
    )
    for r in rows:
        for p in r.pairs:
            table.rows.append(
                [
                    cell(r.option.number),
                    cell(p.contrast),
                    cell(size_label(p.size)),
                    cell(p.with_id, code=True),
                    cell(_differing(p.with_id, p.without_id), code=True),
                    cell([change_text(m, c) for m, c in p.changes.items()]),
                    cell(_outcome_lines(r.option, p)),
                ]
            )
    if not table.rows:
        return None
    return Section(
        f"Appendix: every measured pair ({len(table.rows)})",
        id="guide-pairs-section",
        intro=["The pairs of scenarios behind each cell of the guide table."],
        tables=[table],
        collapsed=True,
    )
