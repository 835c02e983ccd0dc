"""A user's own dbt project named in a scenario file (``project = "PATH"``), checked
when the file is loaded: a path that can be one, to a folder whose dbt_project.yml dbt
can read. A broken project is refused then, by a dry run too, rather than in the
middle of a run whose other matrices would then never be measured."""

from __future__ import annotations

from pathlib import Path

import yaml

from harness.errors import UsageError
from harness.paths import check_path_text


def own_project_path(base: Path, raw: str, where: str) -> Path:
    """The absolute folder of the project ``raw`` (relative to ``base``, the scenario
    file's folder); UsageError naming ``where`` when it is not a readable dbt project."""
    check_path_text(where, Path(raw))
    try:
        path = (base / raw).resolve()
        found = (path / "dbt_project.yml").is_file()
    except (OSError, RuntimeError) as exc:  # a name too long, a symlink loop
        raise UsageError(f"{where}: cannot use {raw!r}: {exc}") from None
    if not found:
        raise UsageError(f"{where}: {path} is not a dbt project (no dbt_project.yml)")
    project_file = path / "dbt_project.yml"
    try:
        data = yaml.safe_load(project_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"{where}: {project_file} cannot be read as YAML: {first}") from None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise UsageError(f"{where}: {project_file} is not a dbt project file (no name: key)")
    return path
