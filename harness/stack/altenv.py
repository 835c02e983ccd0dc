"""A second environment with another Cosmos release beside the locked one.

The axis ``cosmos_version`` runs the import and dag_parse phases with an older
Cosmos (for example 1.13.x, where ``enable_memory_optimised_imports`` still
gated the eager imports: docs/ARCHITECTURE.md, trap 11). To compare like with like, that
environment holds exactly the stack of uv.lock with only astronomer-cosmos
swapped. When the older release cannot take the exact pins, it falls back to
pinning only Airflow, dbt-core, dbt-duckdb and Cosmos and lets uv resolve the
rest; the marker file and the freeze say which of the two was installed.

Cosmos <= 1.13 does not import at all on Airflow >= 3.2 as installed (a circular
import through Airflow's provider discovery, found here: it works on 3.1.8 and
fails on 3.2.2 and 3.3.2). The build then drops Cosmos's provider entry point,
leaving its code untouched, and records that in the marker and the freeze
(``make_importable``).

Layout under ``root`` (git-ignored ``.harness-envs/`` for the runner)::

    cosmos-1.13.1/            the virtual environment
    cosmos-1.13.1/harness-env.json   marker, written last: the env is complete
    cosmos-1.13.1/freeze.txt  ``uv pip freeze`` of the env
    cosmos-1.13.1.lock        serialises builds of the same env
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata as md
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from harness.stack.entry_points import dist_info_of, drop_entry_point_group

COSMOS = "astronomer-cosmos"
# Pinned to their locked versions in the fallback: what the phases measure besides Cosmos.
CORE_STACK = ("apache-airflow", "dbt-core", "dbt-duckdb")
MARKER = "harness-env.json"
FREEZE = "freeze.txt"
# Bump when the build recipe changes, so that envs made by an older recipe are rebuilt.
RECIPE = 1
REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT_S = 1800.0
QUICK_TIMEOUT_S = 120.0
NO_SOLUTION = "No solution found"  # how uv says that pins conflict
_VERSION_RE = re.compile(r"\d+(\.\d+)*([a-z]+\d+)?(\.post\d+)?(\.dev\d+)?")


def cosmos_python(version: str, root: Path, log_dir: Path) -> str:
    """The interpreter of an environment with ``astronomer-cosmos==version``.

    Builds it under ``root/cosmos-<version>`` on first use and reuses it while
    its marker matches the current lock; copies the env's freeze to
    ``log_dir/cosmos-<version>-freeze.txt`` so every run records what it used.
    Raises RuntimeError (one line, pointing at the build log) when it cannot.
    """
    if not _VERSION_RE.fullmatch(version):
        raise RuntimeError(f"cosmos_version {version!r} is not a release number")
    log_dir.mkdir(parents=True, exist_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    env_dir = root / f"cosmos-{version}"
    python = env_dir / "bin" / "python"
    log = log_dir / f"cosmos-{version}-build.log"
    uv = find_uv()
    try:
        requirements = replace_pin(locked_requirements(uv), COSMOS, version)
    except ValueError as exc:
        raise RuntimeError(f"cosmos env {version}: {exc}") from exc
    key = env_key(requirements)
    with _build_lock(root / f"cosmos-{version}.lock"):
        if read_marker(env_dir).get("key") != key or not python.exists():
            try:
                build_env(uv, env_dir, requirements, version, key, log)
            except (RuntimeError, ValueError, OSError) as exc:
                raise RuntimeError(f"cosmos env {version}: {exc} (log: {log})") from exc
    shutil.copyfile(env_dir / FREEZE, log_dir / f"cosmos-{version}-freeze.txt")
    return str(python)


# ---------------------------------------------------------------- requirements
def normalise(name: str) -> str:
    """PEP 503 name: case and runs of -_. do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str | None:
    """The distribution a requirements line pins, or None for comments and options."""
    text = line.strip()
    if not text or text.startswith(("#", "-")):
        return None
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", text)
    return normalise(match.group(0)) if match else None


def replace_pin(lines: Sequence[str], name: str, version: str) -> list[str]:
    """``lines`` with the pin of ``name`` replaced by ``name==version``; the rest as is.

    Markers of the replaced line are dropped (the pin must apply here). Raises
    ValueError when ``name`` is not among the lines: swapping a package that the
    lock does not hold would silently measure something else.
    """
    target = normalise(name)
    out: list[str] = []
    found = False
    for line in lines:
        if requirement_name(line) == target:
            found = True
            out.append(f"{name}=={version}")
        else:
            out.append(line)
    if not found:
        raise ValueError(f"{name} is not in the locked requirements")
    return out


def fallback_requirements(lines: Sequence[str], version: str) -> list[str]:
    """Only Airflow, dbt-core and dbt-duckdb at their locked versions, and Cosmos at
    ``version``: for a release whose own pins conflict with the lock."""
    keep = {normalise(n) for n in CORE_STACK}
    picked = [ln.strip() for ln in lines if requirement_name(ln) in keep]
    if len(picked) != len(keep):
        raise ValueError(f"the locked requirements lack one of {', '.join(CORE_STACK)}")
    return [*picked, f"{COSMOS}=={version}"]


def locked_requirements(uv: str, repo: Path = REPO_ROOT) -> list[str]:
    """The runtime pins of uv.lock (no dev groups, not the project itself).

    Without a uv.lock (the harness installed from a wheel), the distributions
    of the running environment stand in for it.
    """
    if not (repo / "uv.lock").is_file():
        return installed_requirements()
    cmd = [
        uv,
        "export",
        "--frozen",
        "--no-hashes",
        "--no-default-groups",
        "--no-emit-project",
        "--no-header",
        "--no-annotate",
    ]
    proc = _run(cmd, cwd=repo, timeout=QUICK_TIMEOUT_S)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"uv export of {repo / 'uv.lock'} failed: {last}")
    return [ln for ln in proc.stdout.splitlines() if requirement_name(ln)]


def installed_requirements() -> list[str]:
    """name==version for every distribution of the running environment, but this one."""
    pins: dict[str, str] = {}
    for dist in md.distributions():
        name = dist.metadata["Name"]
        if name and normalise(name) != "cosmos-memory-harness":
            pins[normalise(name)] = f"{name}=={dist.version}"
    return [pins[k] for k in sorted(pins)]


def env_key(requirements: Sequence[str]) -> str:
    """What an env is built from: recipe, interpreter, requirements. A changed lock
    (an Airflow bump, say) gives another key, so the env is rebuilt, not reused stale."""
    text = "\n".join([f"recipe {RECIPE}", f"python {_python_version()}", *requirements])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ---------------------------------------------------------------- build
def find_uv() -> str:
    """uv on PATH, else beside this interpreter, else beside its base interpreter
    (tox-uv installs uv next to the Python that runs tox, not into the tox env)."""
    found = shutil.which("uv")
    if found:
        return found
    candidates = [
        Path(sys.executable).parent / "uv",
        Path(getattr(sys, "_base_executable", sys.executable)).parent / "uv",
    ]
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    raise RuntimeError("uv not found on PATH nor beside the Python interpreter: install uv")


def read_marker(env_dir: Path) -> dict[str, object]:
    """The marker of a complete env, or {} when it is missing or unreadable."""
    try:
        data = json.loads((env_dir / MARKER).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def build_env(
    uv: str, env_dir: Path, requirements: Sequence[str], version: str, key: str, log: Path
) -> None:
    """Make the env from scratch: exact pins first, the fallback if they conflict;
    then check that ``import airflow; import cosmos`` works there, adapting if needed."""
    t0 = time.monotonic()
    shutil.rmtree(env_dir, ignore_errors=True)  # a half-built env is not trusted
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"== building {env_dir} with {COSMOS}=={version}\n")
        _step(uv, ["venv", "--python", sys.executable, str(env_dir)], fh, "uv venv")
        python = str(env_dir / "bin" / "python")
        mode = "locked"
        reqs = env_dir / "requirements.txt"
        reqs.write_text("\n".join(requirements) + "\n")
        # No --compile-bytecode: the main env (uv sync) has none either, so the import
        # phases of both compile or reuse bytecode alike.
        try:
            _step(uv, ["pip", "install", "--python", python, "-r", str(reqs)], fh, "install")
        except RuntimeError as exc:
            # Only a resolver conflict means the release needs other pins; a network
            # error would fail the fallback too, so it is raised as it is.
            if NO_SOLUTION not in str(exc):
                raise
            fh.write(f"== exact pins failed ({exc}); falling back to the core stack\n")
            mode = "fallback"
            reqs.write_text("\n".join(fallback_requirements(requirements, version)) + "\n")
            _step(uv, ["pip", "install", "--python", python, "-r", str(reqs)], fh, "install")
        got = _installed_version(python)
        if got != version:
            raise RuntimeError(f"cosmos env {env_dir} has {COSMOS} {got}, not {version}")
        adaptations = make_importable(python, env_dir, fh)
        freeze = _step(uv, ["pip", "freeze", "--python", python], fh, "uv pip freeze")
        header = [f"# {COSMOS}=={version}: {mode} pins", *(f"# adapted: {a}" for a in adaptations)]
        (env_dir / FREEZE).write_text("\n".join(header) + "\n" + freeze)
        build_s = round(time.monotonic() - t0, 1)
        marker = {
            "key": key,
            "version": version,
            "mode": mode,
            "adaptations": adaptations,
            "build_s": build_s,
            "python": sys.executable,
        }
        # Written last: its presence means every step above succeeded.
        (env_dir / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
        fh.write(f"== done in {build_s} s ({mode} pins)\n")


# Airflow >= 3.2 loads every provider's get_provider_info while airflow.configuration
# is still half-initialised; Cosmos <= 1.13 registers one, and its eager __init__
# imports airflow.configuration.conf: "import airflow" itself then fails.
CIRCULAR_CONF = "partially initialized module 'airflow.configuration'"
PROVIDER_GROUP = "apache_airflow_provider"
SMOKE = "import airflow; import cosmos; print(cosmos.__version__)"


def make_importable(python: str, env_dir: Path, log: TextIO) -> list[str]:
    """Check that Airflow and Cosmos import in the env; returns the adaptations made.

    The one adaptation known: when Airflow's provider discovery hits Cosmos's
    circular import, Cosmos's ``apache_airflow_provider`` entry point is dropped
    from its metadata. Cosmos's code is untouched; Airflow then merely does not
    list Cosmos as a provider (its [cosmos] options are still read by Cosmos).
    Raises RuntimeError when the env cannot import them even so.
    """
    adaptations: list[str] = []
    error = _smoke(python, env_dir)
    if error and CIRCULAR_CONF in error:
        dropped = drop_entry_point_group(dist_info_of(env_dir, COSMOS), PROVIDER_GROUP)
        if dropped:
            adaptations.append(
                f"dropped the [{PROVIDER_GROUP}] entry point of {COSMOS}: Airflow's provider "
                "discovery imports it mid-configuration (circular import of airflow.configuration)"
            )
            log.write(f"== {adaptations[-1]}\n")
            error = _smoke(python, env_dir)
    if error:
        raise RuntimeError(f"import airflow; import cosmos fails in {env_dir}: {error}")
    return adaptations


def _smoke(python: str, env_dir: Path) -> str | None:
    """None if Airflow and Cosmos import in the env, else the error's last line."""
    from harness.stack_env import QUIET_ENV

    home = env_dir / "smoke-airflow-home"  # Airflow writes an airflow.cfg on first import
    home.mkdir(exist_ok=True)
    extra = {**QUIET_ENV, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    proc = _run([python, "-c", SMOKE], timeout=QUICK_TIMEOUT_S, extra=extra)
    shutil.rmtree(home, ignore_errors=True)
    if proc.returncode == 0:
        return None
    lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
    return lines[-1][-400:] if lines else f"exit {proc.returncode}"


def _installed_version(python: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({COSMOS!r}))"
    proc = _run([python, "-c", code], timeout=QUICK_TIMEOUT_S)
    return proc.stdout.strip() if proc.returncode == 0 else f"none ({proc.stderr.strip()})"


def _step(uv: str, args: list[str], log: TextIO, what: str) -> str:
    """Run ``uv args``; its stderr goes to the log, its stdout is returned."""
    cmd = [uv, *args]
    proc = _run(cmd, timeout=INSTALL_TIMEOUT_S)
    log.write(f"$ {' '.join(cmd)}\n{proc.stderr}")
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
        # uv says what failed first ("error: ..." or "x No solution ...") and the root
        # cause last; the record's reason keeps both on one line.
        first = next((ln for ln in lines if ln.startswith(("error:", "\u00d7"))), None)
        picked = [ln for ln in dict.fromkeys([first, *lines[-1:]]) if ln]
        cause = " ... ".join(picked)[-400:] if picked else f"exit {proc.returncode}"
        if any(NO_SOLUTION in ln for ln in lines):
            cause = f"{NO_SOLUTION}: {cause}"
        raise RuntimeError(f"{what} failed: {cause}")
    return proc.stdout


def _run(
    cmd: list[str],
    cwd: Path | None = None,
    timeout: float = QUICK_TIMEOUT_S,
    extra: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(extra or {})}
    # The tox or project venv of the caller must not steer which env uv touches.
    for name in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTHONPATH", "PYTHONHOME"):
        env.pop(name, None)
    try:
        return subprocess.run(
            cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{Path(cmd[0]).name} {cmd[1]} timed out after {timeout:.0f} s") from exc
    except OSError as exc:
        raise RuntimeError(f"cannot run {cmd[0]}: {exc}") from exc


def _python_version() -> str:
    return ".".join(map(str, sys.version_info[:3]))


@contextlib.contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    """One builder per env at a time (two runs, or a test beside a run)."""
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
