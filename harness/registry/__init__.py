"""The one declaration of every phase and every axis, and of the figures each phase keeps.

Every other module reads these declarations instead of keeping its own list: the
scenario loader validates against AXES, the matrix expands over it, the runner
calls each phase's recipe, the estimate prices it, the store types its figures and
the report picks its section. Adding an axis is one ``Axis(...)`` in axes.py plus
the code of its effect; adding a phase is one ``Phase(...)`` in phases.py plus its
recipe. See docs/ARCHITECTURE.md.

This package imports nothing else of the harness: every step may import it.
"""

from harness.registry.axes import AXES, Axis, runs_dbt_ls
from harness.registry.phases import PHASES, Phase, phase

__all__ = ["AXES", "PHASES", "Axis", "Phase", "phase", "runs_dbt_ls"]
