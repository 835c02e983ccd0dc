"""The verdicts of a run, computed from its stored records before anything is laid out:
the answer (harness.verdicts.deploy), the recommendations (recommend, goal_picks), the
worker's fit over concurrency (worker_fit), the failures, and what each check of the
report finds (minworker, sweep, soak, taskgroups, workers, versions, debugcheck,
parselimits). harness.verdicts.report_data gathers the report's data once; the report
(harness.report) lays it out and report.json holds it as plain data.

Reads stored records through harness.compare and harness.store, and the memory guide
(harness.guide); imports nothing of the report.
"""
