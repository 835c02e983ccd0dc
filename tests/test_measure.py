"""harness.measure against known truths: a test program holds a known amount of memory.

Every test runs for every backend available here (cgroup2, cgroup1, sample) and
is skipped, with the reason, for a backend that is not. The program is
tests/programs/alloc.py; Python's own baseline (about 12 MiB an interpreter)
is measured by running the same program with 0 MiB, so the tolerance applies to
the allocation itself, not to a figure padded by the baseline.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from harness.cli import main as harness_main
from harness.errors import UsageError
from harness.measure import MeasureResult, available_backends, cgroupfs, choose_backend, measure
from harness.measure import sampler as sampling
from harness.measure.backends import BACKENDS, unavailable_reason
from harness.measure.procfs import ProcHandle, parse_stat, parse_status_kib
from harness.measure.sampler import Sampler

MIB = 1024 * 1024
PROGRAM = Path(__file__).parent / "programs" / "alloc.py"
ROOT = Path(__file__).resolve().parent.parent
CGROUP_BACKENDS = ("cgroup2", "cgroup1")


def prog(*args: object) -> list[str]:
    """The test program with its flags."""
    return [sys.executable, str(PROGRAM), *(str(a) for a in args)]


SELFTEST = "cgroup_selftest"
"""Marks the known truths the nightly runs on a runner with real cgroups:
``pytest tests/test_measure.py -m cgroup_selftest``. Selected so, each runs only
with the backend ``auto`` chooses (or HARNESS_SELFTEST_BACKEND), and FAILS when
that is not a cgroup backend."""


def _selftest_backend(config: pytest.Config) -> str | None:
    """The backend the self-test requires, or None when the self-test is not selected."""
    if SELFTEST not in (config.getoption("markexpr", "") or ""):
        return None
    return os.environ.get("HARNESS_SELFTEST_BACKEND") or choose_backend("auto")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend in turn; skipped with the reason where it is not available.

    Under ``-m cgroup_selftest``: only the required backend, which must be a
    cgroup one and available, or the test fails with the reasons.
    """
    required = _selftest_backend(request.config)
    if required is not None:
        if required not in CGROUP_BACKENDS or unavailable_reason(required) is not None:
            reasons = {b: unavailable_reason(b) for b in CGROUP_BACKENDS}
            pytest.fail(f"cgroup self-test: backend {required} is not a usable cgroup "
                        f"backend here; cgroup backends: {reasons}")
        if request.param != required:
            pytest.skip(f"cgroup self-test: runs with {required} only")
    reason = unavailable_reason(request.param)
    if reason is not None:
        pytest.skip(f"backend {request.param} is not available here: {reason}")
    return str(request.param)


@pytest.fixture(params=CGROUP_BACKENDS)
def cgroup_backend(request: pytest.FixtureRequest) -> str:
    """Each cgroup backend in turn; skipped with the reason where it is not available."""
    reason = unavailable_reason(request.param)
    if reason is not None:
        pytest.skip(f"backend {request.param} is not available here: {reason}")
    return str(request.param)


def our_cgroups(owner: int | None = None) -> set[Path]:
    """harness-<owner>-* cgroups in every hierarchy (owner: this process by default).

    Only ours: other harness runs on the machine may make their own meanwhile.
    """
    owner = os.getpid() if owner is None else owner
    found: set[Path] = set()
    for m in cgroupfs.mounts():
        try:
            entries = list(m.mountpoint.iterdir())
        except OSError:
            continue
        for entry in entries:
            match = cgroupfs.NAME_RE.match(entry.name)
            if match and int(match.group(1)) == owner:
                found.add(entry)
    return found


@pytest.fixture(autouse=True)
def no_cgroup_left_behind() -> object:
    """Truth 6, after every test: no cgroup made by this process is left."""
    before = our_cgroups()
    yield
    left = our_cgroups() - before
    assert not left, f"cgroups left behind: {sorted(map(str, left))}"


_baselines: dict[tuple[str, int], int] = {}


def baseline(backend: str, depth: int) -> int:
    """Peak of the same program holding 0 MiB (interpreters, libraries, page tables)."""
    key = (backend, depth)
    if key not in _baselines:
        result = measure(prog("--mib", 0, "--hold", 0.5, "--depth", depth), backend=backend)
        assert result.status == "ok", result
        _baselines[key] = result.peak_tree_bytes
    return _baselines[key]


def still_running(pid: int) -> bool:
    """True if the pid is a live process (a zombie waiting for its reaper has ended)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# ---------------------------------------------------------------- truth 1
@pytest.mark.cgroup_selftest
def test_held_in_grandchild_within_5_percent(backend: str) -> None:
    """300 MiB held for 1 s by a grandchild: the tree's peak minus the baseline is 300 MiB ±5%.

    The baseline is the same three-process tree holding nothing, measured by the
    same backend, so a backend that got the allocation wrong by more than 5%
    (15 MiB) fails here whatever the interpreters weigh.
    """
    base = baseline(backend, depth=2)
    result = measure(prog("--mib", 300, "--hold", 1, "--depth", 2), backend=backend)
    assert result.backend == backend
    assert result.status == "ok" and result.exit_code == 0
    assert result.processes_seen >= 3
    allocated = result.peak_tree_bytes - base
    assert abs(allocated - 300 * MIB) <= 0.05 * 300 * MIB, (allocated / MIB, base / MIB)
    # the grandchild alone held the 300 MiB (+ its own interpreter)
    assert 300 * MIB <= result.peak_single_bytes <= 300 * MIB + base
    assert result.wall_s >= 1.0


# ---------------------------------------------------------------- truth 2
@pytest.mark.cgroup_selftest
def test_short_spike(backend: str) -> None:
    """A 50 ms spike of 400 MiB on top of 100 MiB: at least 480 MiB, every backend.

    cgroups keep a kernel high-water mark: nothing escapes it. The sampler gets
    the spike from the spiking process's VmHWM (read after the spike while the
    process lives on) even when no poll fell inside the spike; its tolerance is
    the same 480 MiB lower bound, and no more than the spike plus the baseline
    above (no double counting).
    """
    result = measure(
        prog("--mib", 100, "--spike-mib", 400, "--spike-ms", 50, "--hold", 0.3, "--depth", 1),
        backend=backend,
    )
    assert result.status == "ok"
    assert result.peak_tree_bytes >= 480 * MIB, result.peak_tree_bytes / MIB
    assert result.peak_tree_bytes <= 500 * MIB + baseline(backend, depth=1) + 10 * MIB


def test_sampler_catches_spike_shorter_than_its_interval() -> None:
    """Sampler tolerance: with polls 250 ms apart, a 50 ms spike is still caught (VmHWM).

    The summed RSS of the polls (details peak_rss_sum_bytes) may miss it, which
    is the documented limit of summing; peak_tree_bytes takes the per-process
    high-water marks as a floor, so it does not.
    """
    result = measure(
        prog("--mib", 100, "--spike-mib", 400, "--spike-ms", 50, "--spike-after", 0.4,
             "--hold", 0.6),
        backend="sample",
        interval_ms=250,
    )
    assert result.status == "ok"
    assert result.peak_tree_bytes >= 480 * MIB
    assert result.peak_single_bytes >= 480 * MIB


def test_spike_in_grandchild_that_exits_at_once(backend: str) -> None:
    """The spiking grandchild exits right after its spike: caught by every backend.

    For the sampler this comes from the polls or, failing them, from wait4's
    ru_maxrss of the direct child, which includes the descendants it reaped.
    """
    result = measure(
        prog("--mib", 100, "--spike-mib", 400, "--spike-ms", 50, "--exit-after-spike",
             "--depth", 2),
        backend=backend,
    )
    assert result.status == "ok"
    assert result.peak_tree_bytes >= 480 * MIB


# ---------------------------------------------------------------- truth 3
def test_small_child_of_big_parent(backend: str, tmp_path: Path) -> None:
    """A parent holding 400 MiB starts a small child (subprocess: fork, then exec).

    What "the child's own figure" means here: its record in
    details["top_processes"], the VmHWM of the image it runs after the exec.
    It must not include the parent's 400 MiB, though the ru_maxrss its parent
    gets from wait4 does (the test program records it: the trap is real on this
    kernel). The tree's peak counts the 400 MiB once, not once per process.
    (A process that itself held 400 MiB and then exec'd a small program did
    hold it: the tree's peak rightly includes it, and its record keeps it
    apart, under earlier_images_peak_bytes.)
    """
    pidfile, rusage = tmp_path / "pids", tmp_path / "rusage"
    result = measure(
        prog("--mib", 400, "--small-child", 1, "--rusage-file", rusage, "--pidfile", pidfile,
             "--hold", 0.2),
        backend=backend,
    )
    assert result.status == "ok"
    child_pid, child_ru_maxrss = (int(x) for x in rusage.read_text().split())
    assert child_ru_maxrss >= 400 * MIB, "the ru_maxrss trap: includes the parent's RSS"
    records = {r["pid"]: r for r in result.details["top_processes"]}
    assert child_pid in records, records
    assert records[child_pid]["peak_rss_bytes"] < 50 * MIB, records[child_pid]
    assert 400 * MIB <= result.peak_tree_bytes <= 400 * MIB + baseline(backend, 1) + 20 * MIB
    assert result.processes_seen == 2


# ---------------------------------------------------------------- truth 4
@pytest.mark.cgroup_selftest
def test_limit_gives_oom_and_harness_goes_on(backend: str) -> None:
    """A limit of 200 MiB and a 300 MiB allocation: status oom with figures; the next run works.

    cgroups: the kernel's OOM killer ends the allocating process, counted in
    oom_kill. sample: the harness kills the tree when summed RSS passes the limit.
    """
    result = measure(prog("--mib", 300, "--hold", 1, "--depth", 1), backend=backend,
                     limit_bytes=200 * MIB)
    assert result.status == "oom", result
    assert result.details["oom_kills"] >= 1
    assert result.limit_bytes == 200 * MIB
    assert result.exit_code != 0
    assert result.peak_tree_bytes > 100 * MIB
    if backend in CGROUP_BACKENDS:
        assert result.peak_tree_bytes <= 200 * MIB  # the kernel enforces it to the byte
    again = measure(prog("--mib", 10), backend=backend, limit_bytes=200 * MIB)
    assert again.status == "ok"


# ---------------------------------------------------------------- truth 5
@pytest.mark.cgroup_selftest
def test_timeout_ends_whole_tree(backend: str, tmp_path: Path) -> None:
    """Every process ignores SIGTERM; the leaf setsid()s and is orphaned: all are ended.

    The tree: a root that lingers, a middle that exits after 0.3 s, and a leaf
    that left the session and is reparented away from the tree. Timeout 1.5 s,
    grace 0.5 s: status timeout, and no pid the program recorded still runs.
    """
    pidfile = tmp_path / "pids"
    result = measure(
        prog("--depth", 2, "--ignore-term", "--orphan", "--setsid", "--hold", 60,
             "--linger", 60, "--pidfile", pidfile),
        backend=backend, timeout_s=1.5, grace_s=0.5,
    )
    assert result.status == "timeout"
    assert result.exit_code == -signal.SIGKILL  # SIGTERM was ignored
    assert 1.5 <= result.wall_s < 5
    pids = [int(p) for p in pidfile.read_text().split()]
    assert len(pids) == 3
    assert not [p for p in pids if still_running(p)]
    kill = result.details["kill"]
    assert kill["sigterm_sent"] >= 2 and kill["sigkill_sent"] >= 2 and not kill["survivors"]


def test_leftover_processes_are_ended(backend: str, tmp_path: Path) -> None:
    """The direct child exits leaving its orphaned child running: that one is ended too."""
    pidfile = tmp_path / "pids"
    result = measure(prog("--depth", 1, "--orphan", "--hold", 60, "--pidfile", pidfile),
                     backend=backend, grace_s=0.5)
    assert result.status == "ok"
    assert result.details["stragglers"] == 1
    assert result.wall_s < 5
    assert not [p for p in map(int, pidfile.read_text().split()) if still_running(p)]


# ---------------------------------------------------------------- truth 6 and cleanup
def test_cgroup_removed_on_exception(cgroup_backend: str, monkeypatch: pytest.MonkeyPatch,
                                     tmp_path: Path) -> None:
    """A failure inside the harness mid-measurement: the tree is killed, the cgroup removed."""
    pidfile = tmp_path / "pids"

    def broken_start(self: Sampler) -> None:
        time.sleep(0.5)  # let the program write its pid
        raise RuntimeError("simulated harness failure")

    monkeypatch.setattr(Sampler, "start", broken_start)
    with pytest.raises(RuntimeError, match="simulated"):
        measure(prog("--hold", 30, "--pidfile", pidfile), backend=cgroup_backend)
    assert not our_cgroups()
    assert not [p for p in map(int, pidfile.read_text().split()) if still_running(p)]


def test_stale_cgroup_of_dead_owner_is_removed(cgroup_backend: str) -> None:
    """A harness-<pid>-<n> cgroup whose owner died (empty) is removed by the next measurement."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    mount = cgroupfs.v1_mount("memory") if cgroup_backend == "cgroup1" else cgroupfs.v2_mount()
    assert mount is not None
    stale = mount / f"harness-{dead.pid}-1"
    stale.mkdir()
    try:
        assert stale in cgroupfs.clean_stale(mount)
        assert not stale.exists()
    finally:
        if stale.exists():
            stale.rmdir()


# ---------------------------------------------------------------- the rest of the result
def test_exit_code_cpu_and_outputs(backend: str, tmp_path: Path) -> None:
    """Exit code, CPU of the tree (a busy grandchild), output appended to one shared file."""
    busy = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.5: pass"
    script = (
        "import subprocess, sys\n"
        f"subprocess.run([sys.executable, '-c', {busy!r}])\n"
        "print('to stdout', flush=True); print('to stderr', file=sys.stderr); sys.exit(3)"
    )
    log = tmp_path / "log"
    log.write_text("header\n")
    result = measure([sys.executable, "-c", script], backend=backend, stdout=log, stderr=log)
    assert result.status == "error" and result.exit_code == 3
    assert result.user_cpu_s + result.system_cpu_s >= 0.45
    assert log.read_text().splitlines() == ["header", "to stdout", "to stderr"]
    MeasureResult.from_dict(json.loads(json.dumps(result.to_dict())))  # JSON round trip


def _sampling(proc: subprocess.Popen[bytes], **kwargs: object) -> Sampler:
    sampler = Sampler(proc.pid, interval_s=0.01, **kwargs)  # type: ignore[arg-type]
    sampler.start()
    return sampler


def _end(proc: subprocess.Popen[bytes], sampler: Sampler) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    sampler.stop()


def _forked_and_execd(pid: int, children: int) -> bool:
    """``pid`` has ``children`` descendants, one of them already running `sleep`."""
    try:
        found = psutil.Process(pid).children(recursive=True)
        return len(found) >= children and any(p.name() == "sleep" for p in found)
    except psutil.Error:
        return False


@pytest.mark.parametrize("full", [False, True], ids=["poll", "full-poll"])
@pytest.mark.parametrize("nested", [False, True], ids=["child", "child-with-its-own-child"])
def test_sampler_finds_processes_made_after_a_quiet_spell(nested: bool, full: bool) -> None:
    """The sampler searches children files only when the kernel handed out a pid
    since its last search found nothing new. A tree that is quiet, then forks
    between two polls (a child that already has its own child when first seen),
    is still found whole. Polled by hand, so the forks land between two polls."""
    inner = 'sh -c "sleep 5 & wait"' if nested else "sleep 5"
    proc = subprocess.Popen(["sh", "-c", f"read x; {inner} & wait"], stdin=subprocess.PIPE,
                            start_new_session=True)
    sampler = Sampler(proc.pid, interval_s=0.01)
    try:
        for _ in range(3):  # quiet: the searches find nothing new
            sampler.poll_once(full=full)
        assert sampler.processes_seen == 1
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        want = 3 if nested else 2
        deadline = time.monotonic() + 5
        # every fork done and `sleep` exec'd (a busy machine leaves the fork an `sh` a while)
        while not _forked_and_execd(proc.pid, want - 1):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        for _ in range(want):  # each poll finds one more level
            sampler.poll_once(full=full)
        names = sorted(str(p["name"]) for p in sampler.top_processes())
        assert sampler.processes_seen == want, names
        assert "sleep" in names
    finally:
        _end(proc, sampler)


def test_status_is_read_only_after_page_faults(monkeypatch: pytest.MonkeyPatch) -> None:
    """VmHWM (status) is re-read only when the process faulted pages in since the
    last read: never for a sleeping process, and again once it allocates."""
    reads: list[int] = []
    real = ProcHandle.hwm_bytes

    def counting(self: ProcHandle) -> int | None:
        reads.append(self.pid)
        return real(self)

    monkeypatch.setattr(ProcHandle, "hwm_bytes", counting)
    proc = subprocess.Popen(prog("--spike-mib", 50, "--spike-after", 1.5, "--spike-ms", 4000),
                            start_new_session=True)
    sampler = Sampler(proc.pid, interval_s=0.01)
    try:
        time.sleep(0.6)  # the interpreter has started and sleeps before allocating
        sampler.poll_once(full=True)
        before = len(reads)
        for _ in range(5):
            sampler.poll_once(full=True)
        assert len(reads) == before  # asleep: no fault, no status read
        time.sleep(1.6)  # it has allocated and touched 50 MiB (and holds them)
        sampler.poll_once(full=True)
        assert len(reads) == before + 1
        assert sampler.peak_single_bytes >= 50 * MIB
    finally:
        _end(proc, sampler)


def test_sampler_cpu_is_its_own_measured_cpu() -> None:
    """Known truth: each poll calls on_poll, which here burns 4 ms of CPU; the
    sampler's own CPU figure is at least polls x 4 ms and not far above it."""
    burn_s = 0.004

    def burn() -> None:
        end = time.thread_time() + burn_s
        while time.thread_time() < end:
            pass

    proc = subprocess.Popen(["sleep", "5"], start_new_session=True)
    sampler = Sampler(proc.pid, interval_s=0.05, on_poll=burn)
    sampler.start()
    time.sleep(1.0)
    _end(proc, sampler)
    floor = sampler.polls * burn_s
    assert floor <= sampler.cpu_s <= floor * 1.5 + 0.02, (sampler.polls, sampler.cpu_s)


def test_pss_reads_keep_to_their_budget() -> None:
    """PSS is asked for every 10 ms of a 300 MiB process (smaps_rollup walks its page
    tables): the reads are spaced so that they take about PSS_BUDGET of a core."""
    proc = subprocess.Popen(prog("--mib", 300, "--hold", 5), start_new_session=True)
    time.sleep(1.5)  # allocated and touched
    sampler = _sampling(proc, pss_interval_s=0.01)
    start = time.monotonic()
    time.sleep(1.5)
    elapsed = time.monotonic() - start
    _end(proc, sampler)
    assert sampler.peak_pss_sum_bytes is not None
    assert sampler.peak_pss_sum_bytes >= 300 * MIB
    assert 1 <= sampler.pss_reads < elapsed / 0.01 / 4, sampler.pss_reads
    # Each read is paid for by the wait after it, so all reads but the dearest one fit
    # the budget over the window (a busy machine makes one read dear, not many).
    spent = sampler.pss_cpu_s - sampler.pss_max_read_s
    budget = sampling.PSS_BUDGET * elapsed * 1.5 + 0.002
    assert spent <= budget, (sampler.pss_cpu_s, sampler.pss_max_read_s)


def test_no_helper_process_while_running(backend: str) -> None:
    """While the command runs, the harness's only child is the command: threads, no helpers."""
    import threading

    seen: set[int] = set()
    stop = threading.Event()

    def watch() -> None:
        me = psutil.Process()
        while not stop.is_set():
            seen.update(p.pid for p in me.children(recursive=True))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = measure(["sleep", "1"], backend=backend)
    finally:
        stop.set()
        watcher.join()
    assert result.processes_seen == 1
    assert len(seen) == 1, seen


# ---------------------------------------------------------------- bad input
def test_backend_choice() -> None:
    """auto gives the best available; sample is everywhere; unknown names are refused."""
    available = available_backends()
    assert "sample" in available
    assert choose_backend("auto") == available[0]
    with pytest.raises(UsageError, match="unknown backend"):
        choose_backend("cgroup3")
    for name in BACKENDS:
        if name not in available:
            with pytest.raises(UsageError, match="not available here"):
                choose_backend(name)


@pytest.mark.parametrize(
    ("cmd", "kwargs", "message"),
    [
        ([], {}, "no command"),
        (["definitely-not-a-command-xyz"], {}, "command not found"),
        (["./not/there"], {}, "no such file"),
        (["true"], {"limit_bytes": -1}, "must be positive"),
        (["true"], {"timeout_s": 0}, "must be positive"),
        (["true"], {"interval_ms": 0}, "must be positive"),
        (["true"], {"backend": "nope"}, "unknown backend"),
        (["true"], {"cwd": Path("/nonexistent/dir")}, "does not exist"),
    ],
)
def test_measure_bad_input(cmd: list[str], kwargs: dict[str, object], message: str) -> None:
    """measure() raises UsageError for bad input, before starting anything."""
    with pytest.raises(UsageError, match=message):
        measure(cmd, **kwargs)  # type: ignore[arg-type]


def _unavailable_backend() -> str | None:
    return next((b for b in BACKENDS if unavailable_reason(b) is not None), None)


@pytest.mark.parametrize(
    "argv",
    [
        ["measure"],
        ["measure", "--"],
        ["measure", "--", "definitely-not-a-command-xyz"],
        ["measure", "--limit-mib", "-5", "--", "true"],
        ["measure", "--timeout", "-1", "--", "true"],
        ["measure", "--backend", "nope", "--", "true"],
        ["measure", "--backend", "UNAVAILABLE", "--", "true"],
    ],
)
def test_cli_bad_input(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Bad input: one line on stderr, exit 2."""
    if "UNAVAILABLE" in argv:
        name = _unavailable_backend()
        if name is None:
            pytest.skip("every backend is available here")
        argv = [name if a == "UNAVAILABLE" else a for a in argv]
    assert harness_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("harness measure: error: ") and err.count("\n") == 1, err


def _cli(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "measure", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60, **kwargs,  # type: ignore[call-overload]
    )


def test_cli_subprocess_bad_input_no_traceback() -> None:
    """The real command line: one clear line, exit 2, no traceback."""
    for args in (["--backend", "nope", "--", "true"], ["--", "definitely-not-a-command-xyz"]):
        proc = _cli(*args)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        assert proc.stderr.count("\n") == 1 and "error" in proc.stderr


def test_cli_output_checked_before_the_command_and_kept_after(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 31: -o that cannot be written is refused before the command runs (nothing
    made); one that fails after it (a disk filled meanwhile) loses not the result."""
    ran = tmp_path / "ran"
    (tmp_path / "link").symlink_to(tmp_path / "gone" / "out.json")
    for out in ("/dev/full", "/proc/version", str(tmp_path / "link")):
        assert harness_main(["measure", "-o", out, "--", "touch", str(ran)]) == 2
        assert not ran.exists() and len(capsys.readouterr().err.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link"]

    write_text = Path.write_text

    def full(self: Path, text: str) -> int:
        if self.name != "o.json":
            return write_text(self, text)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    code = harness_main(["measure", "--json", "-o", str(tmp_path / "o.json"), "--", "true"])
    captured = capsys.readouterr()
    assert code == 2 and json.loads(captured.out)["status"] == "ok"
    assert captured.err.splitlines() == [
        f"harness measure: error: -o: cannot write {tmp_path / 'o.json'}: No space left on "
        "device (the result is printed above)"
    ]


def test_cli_json_and_exit_code() -> None:
    """--json: the result on stdout; the exit code is the command's (GNU time's rule)."""
    proc = _cli("--json", "--", sys.executable, "-c", "import sys; sys.exit(3)")
    assert proc.returncode == 3, proc.stderr
    data = json.loads(proc.stdout)
    assert data["status"] == "error" and data["exit_code"] == 3
    assert data["backend"] == available_backends()[0]


def test_cli_summary_and_timeout_exit() -> None:
    """The human summary goes to stderr; a timeout exits 124."""
    proc = _cli("--timeout", "0.5", "--grace", "0.2", "--", "sleep", "10")
    assert proc.returncode == 124
    assert "timeout" in proc.stderr and "peak (tree)" in proc.stderr
    assert "measuring cost" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_cli_interrupted_cleans_up(sig: int, code: int, tmp_path: Path) -> None:
    """Ctrl-C or SIGTERM to the harness: the tree is killed, the cgroup removed."""
    pidfile = tmp_path / "pids"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "measure", "--", *prog("--depth", 1, "--hold", 30,
                                                                 "--pidfile", pidfile)],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 20
    while not (pidfile.exists() and len(pidfile.read_text().split()) == 2):
        assert time.monotonic() < deadline, "the program did not start"
        time.sleep(0.05)
    proc.send_signal(sig)
    # The test is of what is left, not of speed: under the full suite's load the exit
    # once took over 30 s (a busy cgroup's rmdir is retried for up to 30 s).
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert not [p for p in map(int, pidfile.read_text().split()) if still_running(p)]
    assert not our_cgroups(owner=proc.pid)


# ---------------------------------------------------------------- parsers and cgroup v2 files
def test_parse_stat_odd_name() -> None:
    """A process name with spaces and parentheses does not shift the fields."""
    fields = ["S", "1", "2", "3", "0", "-1", "4194368", "11", "99", "13", "99"]
    fields += ["7", "8", "9", "10"]
    fields += ["20", "0", "5", "0", "123", "456", "300", "0", "4096", "8192"]  # rsslim, code
    st = parse_stat(b"42 (a b) (c)) " + " ".join(fields).encode())
    assert (st.name, st.state, st.ppid) == ("a b) (c)", "S", 1)
    assert (st.utime_ticks, st.stime_ticks, st.threads) == (7, 8, 5)
    assert st.forked_no_exec and st.code_range == (4096, 8192)
    assert st.rss_bytes == 300 * os.sysconf("SC_PAGE_SIZE")
    assert st.faults == 11 + 13  # minflt + majflt, not the children's


def test_parse_status() -> None:
    """VmHWM and friends in bytes; None when absent (a zombie has no memory lines)."""
    text = b"Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t 1024 kB\n"
    assert parse_status_kib(text, b"VmHWM") == 2048 * 1024
    assert parse_status_kib(text, b"VmRSS") == 1024 * 1024
    assert parse_status_kib(b"Name:\tx\nState:\tZ\n", b"VmHWM") is None
