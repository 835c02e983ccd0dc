"""The recommendations as a section: for each phase (whole DAG run, one task) and size,
what a user may want and the configuration that answers it, with the configurations it
cannot be told from. The table is rendered from harness.verdicts.goal_picks's data, as
report.json (harness.report.guide_json) is, so the two cannot disagree."""

from __future__ import annotations

from harness.compare.configs import size_label
from harness.report.view import Section, Table, cell
from harness.verdicts.goal_picks import PHASES, GoalPick

RECOMMEND_NOTE = (
    "Only configurations whose every repetition succeeded are considered; a configuration fits "
    'a worker when the smallest worker its min_worker bisection found ("ran in") is within '
    "it, or, where none was run, when every repetition's peak stayed within it. A pick is in "
    "bold when it is significantly better than every other (Student's t on the log values, "
    "harness.compare) by more than 5%; otherwise the configurations it cannot be told from "
    "are listed: *within the noise* where they were compared (repetitions on a side), "
    "*untested against each other* where each was measured once (nothing was compared). "
    "Conditions of a measurement (the dbt ls cache, the partial-parse state) are in "
    "brackets: they are not settings."
)
def _either(g: GoalPick) -> str:
    if not g.tied:
        return "no other within the noise or untested against it"
    kinds = sorted({c.tie for c in g.tied if c.tie})
    return f"either ({g.metric}; {', '.join(kinds)}): " + " | ".join(
        c.text(g.pick) for c in g.tied
    )


def recommendations_section(picks: list[GoalPick]) -> Section:
    """For each size: the lightest, the fastest, the fastest within 1, 2 and 4 GiB."""
    section = Section("Recommendations", id="recommendations", notes=[RECOMMEND_NOTE])
    for phase, what in PHASES:
        of = [g for g in picks if g.phase == phase]
        if not of:
            continue
        table = Table(
            ["size", "configurations", "what you want", "use", "or, not told apart from it"],
            id=f"recommend-{phase}",
        )
        for g in of:
            if g.pick is None:
                table.add(size_label(g.size), g.configurations, "; ".join(g.goals),
                          "none fits", "")  # fmt: skip
                continue
            table.add(size_label(g.size), g.configurations, "; ".join(g.goals),
                      cell(g.pick.text(), strong=not g.tied), _either(g))  # fmt: skip
        section.children.append(Section(f"{phase}: {what}", level=3, tables=[table]))
    if not section.children:
        section.intro.append("No successful task or dag_run measurement in this run.")
    return section
