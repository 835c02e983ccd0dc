"""Editing an installed distribution's entry points (the side environment's one
adaptation, docs/ARCHITECTURE.md trap 19)."""

from __future__ import annotations

import os
import re
from pathlib import Path


def drop_entry_point_group(dist_info: Path, group: str) -> bool:
    """Remove section ``[group]`` from ``dist_info/entry_points.txt``; True if it was there."""
    path = dist_info / "entry_points.txt"
    if not path.is_file():
        return False
    kept: list[str] = []
    inside = found = False
    for line in path.read_text().splitlines():
        header = re.fullmatch(r"\s*\[([^]]+)\]\s*", line)
        if header:
            inside = header.group(1).strip() == group
            found = found or inside
        if not inside:
            kept.append(line)
    if found:
        # A new file, renamed over the old: uv hard-links installed files to its cache,
        # and writing in place would change the cached wheel for every later env.
        tmp = path.with_name(path.name + ".harness-tmp")
        tmp.write_text("\n".join(kept).strip() + "\n")
        os.replace(tmp, path)
    return found


def dist_info_of(env_dir: Path, dist: str) -> Path:
    """The one ``*.dist-info`` folder of distribution ``dist`` in a virtual environment."""
    stem = dist.replace("-", "_")
    found = sorted(env_dir.glob(f"lib/python*/site-packages/{stem}-*.dist-info"))
    if len(found) != 1:
        raise RuntimeError(f"cannot find the one {dist} dist-info in {env_dir}: {found}")
    return found[0]
