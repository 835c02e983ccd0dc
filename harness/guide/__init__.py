"""The memory guide, measured: the seven options of Cosmos's "Memory Optimization
Options" page (harness.guide.options), the pairs of scenarios that measure each, the
verdict rules (harness.guide.verdict), whether the option acted (harness.guide.evidence),
a failed side (harness.guide.failed_sides) and concurrency's cost per slot
(harness.guide.slots); harness.guide.rows puts them together into the guide's rows,
which this package's face re-exports.

Reads stored records through harness.compare; knows nothing of how a report lays them out.
"""

# The face is rows.py's own list of public names, so the two cannot drift apart.
from harness.guide import rows
from harness.guide.rows import *  # noqa: F403

__all__ = rows.__all__
