"""The report's "How big a worker" section: each deployment a user runs at 10, 100, 1000
and 5000 models, measured where the report's runs measured it, else from the sizing model
(harness.size), marked as such."""

from __future__ import annotations

from harness.report.view import Section, Table
from harness.size.table import LEGEND, sizing_rows
from harness.store.record import Record

REPORT_SIZES = (10, 100, 1000, 5000)


def sizing_section(records: list[Record]) -> Section | None:
    """The section, or None when the records measure no deployment at all."""
    rows = sizing_rows(records, REPORT_SIZES)
    if all(c == "-" for *_, cells in rows for c in cells):
        return None
    table = Table(["deployment", "mode", "slots", *(f"{n} models" for n in REPORT_SIZES)],
                  id="sizing")  # fmt: skip
    for name, mode, slots, cells in rows:
        table.add(name, mode, slots, *cells)
    return Section(
        "How big a worker", id="sizing",
        intro=["Memory to give each worker users run, from these runs' records: measured "
               "where they measured it, else predicted by the sizing model fitted from "
               "them (`harness size RUN... --models N --executor ...` gives the interval "
               "and the records; `--validate` the model's error)."],
        tables=[table], notes=[LEGEND],
    )  # fmt: skip
