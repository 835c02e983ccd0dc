"""Peak memory and time of a whole process tree: "GNU time for process trees".

    from harness.measure import measure
    result = measure(["airflow", "dags", "test", "demo"], timeout_s=600)
    result.peak_tree_bytes, result.wall_s, result.status

Backends, best first (``auto`` picks the first available): ``cgroup2``
(memory.peak), ``cgroup1`` (memory.max_usage_in_bytes) and ``sample`` (polling
/proc). Every result names the backend that produced it. See core.py for the
steps, sampler.py for what sampling can and cannot see.
"""

from harness.measure.backends import BACKENDS, available_backends, choose_backend
from harness.measure.core import DEFAULT_GRACE_S, DEFAULT_INTERVAL_MS, MeasureError, measure
from harness.measure.result import MeasureResult

__all__ = [
    "BACKENDS",
    "DEFAULT_GRACE_S",
    "DEFAULT_INTERVAL_MS",
    "MeasureError",
    "MeasureResult",
    "available_backends",
    "choose_backend",
    "measure",
]
