"""The report's section "What upgrading does": the pairs of scenarios that differ only in
a release of Cosmos or dbt-core (and, against a --baseline run of other releases, each
scenario with itself), and its child "Cosmos settings beyond the guide" (the WATCHER
producer's reliable-retry backup and dbt threads). The pairs, statistics and verdicts are
harness.compare.upgrade's, the cells harness.compare.upgrade_text's, which `harness
compare` prints too; report.json holds the same pairs (harness.report.guide_json)."""

from __future__ import annotations

from harness.compare.effect import AVOIDS, FAILS, IMPROVED, WORSENED
from harness.compare.upgrade import UpgradePair
from harness.compare.upgrade_text import (
    LEGEND,
    SETTINGS_TITLE,
    TITLE,
    header,
    row_lines,
    shown,
    split,
    varying,
)
from harness.report.view import Section, Table, TableCell, cell

_CSS = {WORSENED: "bad", FAILS: "bad", IMPROVED: "good", AVOIDS: "good"}
"""Every metric is a cost: more is worse."""


def _table(pairs: list[UpgradePair], table_id: str) -> Table:
    axes, metrics = varying(pairs), shown(pairs)
    table = Table(header(metrics), id=table_id)
    metric_at = {5 + i: m for i, m in enumerate(metrics)}
    for p in pairs:
        cells: list[TableCell] = []
        for i, lines in enumerate(row_lines(p, axes, metrics)):
            if i in metric_at:
                css = _CSS.get(p.verdicts.get(metric_at[i], ""), "")
                cells.append(cell(lines, css=f"verdict {css}".strip()))
            else:
                cells.append(cell(lines, code=i == 0))
        table.rows.append(cells)
    return table


def upgrade_section(
    pairs: list[UpgradePair], across: list[UpgradePair] | None = None
) -> Section | None:
    """The section, or None when no two scenarios differ only in a release or a setting.
    ``across``: this run against a --baseline run of other releases."""
    releases, settings = split(pairs)
    children = []
    if across:
        children.append(Section(
            "Against the baseline run", level=3, id="upgrade-baseline",
            intro=["Each scenario of the baseline run with itself in this run, whose stack "
                   "has other releases of the packages named."],
            tables=[_table(across, "upgrade-baseline")],
        ))  # fmt: skip
    if settings:
        children.append(Section(
            SETTINGS_TITLE, level=3, id="cosmos-settings",
            intro=["Cosmos's settings outside its memory guide: `watcher_reliable_retry` "
                   "(`[cosmos] enable_watcher_reliable_retry`, new in 1.15, on by default: "
                   "WATCHER's producer writes its backup of every node's result to an Airflow "
                   "Variable as it goes) and `producer_threads` (WATCHER's producer's dbt "
                   "`--threads`)."],
            tables=[_table(settings, "cosmos-settings")],
        ))  # fmt: skip
    if not releases and not children:
        return None
    intro = ["What moving to another release of Cosmos or dbt-core does, phase by phase and "
             "size by size (axes `cosmos_version`, `dbt_version`)."]  # fmt: skip
    if not releases:
        intro.append("No two scenarios of these records differ only in a release.")
    return Section(
        TITLE, id="upgrade", intro=intro,
        tables=[_table(releases, "upgrade")] if releases else [],
        notes=[LEGEND], children=children,
    )  # fmt: skip

