"""A test program that holds a known amount of memory: the known truth the measure tests check.

Every process of the tree it builds appends its pid to ``--pidfile``. The
process at depth 0 (the leaf) allocates ``--mib`` MiB and writes to every page
of it (so the pages are really there), optionally spikes, and holds.

    alloc.py --mib 300 --hold 1 --depth 2     # 300 MiB in a grandchild for 1 s
    alloc.py --mib 100 --spike-mib 400 --spike-ms 50
    alloc.py --mib 400 --small-child 1 --rusage-file F   # big parent, small child
    alloc.py --depth 2 --ignore-term --orphan --setsid --hold 60 --linger 60

Standard library only, so its own baseline stays small and the same across runs.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

MIB = 1024 * 1024
PAGE = 4096


def touch(n_bytes: int) -> bytearray:
    """Allocate n_bytes and write to every page (a bytearray of this size is its own mmap)."""
    buf = bytearray(n_bytes)
    buf[::PAGE] = b"\x01" * len(range(0, n_bytes, PAGE))
    return buf


def record_pid(path: str | None) -> None:
    """Append this process's pid to the pid file (O_APPEND: safe across processes)."""
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.close(fd)


def child_argv(args: argparse.Namespace) -> list[str]:
    """The same program one level deeper, with every other flag passed on."""
    argv = [sys.executable, os.path.abspath(__file__), "--depth", str(args.depth - 1)]
    for flag, value in (
        ("--mib", args.mib),
        ("--hold", args.hold),
        ("--spike-mib", args.spike_mib),
        ("--spike-ms", args.spike_ms),
        ("--spike-after", args.spike_after),
        ("--small-child", args.small_child),
    ):
        argv += [flag, str(value)]
    for flag, on in (
        ("--ignore-term", args.ignore_term),
        ("--setsid", args.setsid),
        ("--orphan", args.orphan),
        ("--exit-after-spike", args.exit_after_spike),
    ):
        if on:
            argv.append(flag)
    if args.pidfile:
        argv += ["--pidfile", args.pidfile]
    if args.rusage_file:
        argv += ["--rusage-file", args.rusage_file]
    return argv


def leaf(args: argparse.Namespace) -> int:
    """Allocate, spike, spawn a small child, hold: whatever the flags ask."""
    if args.setsid:
        os.setsid()
    held = touch(args.mib * MIB) if args.mib else bytearray()
    if args.spike_mib:
        time.sleep(args.spike_after)
        spike = touch(args.spike_mib * MIB)
        time.sleep(args.spike_ms / 1000.0)
        del spike  # munmap: RSS falls back at once
        if args.exit_after_spike:
            return 0
    if args.small_child:
        # A small child of this big process: python's subprocess forks/vforks, then execs.
        small = [sys.executable, os.path.abspath(__file__), "--hold", str(args.small_child)]
        if args.pidfile:
            small += ["--pidfile", args.pidfile]
        proc = subprocess.Popen(small)
        _, status, rusage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if args.rusage_file:
            with open(args.rusage_file, "w") as f:  # ru_maxrss is in KiB on Linux
                f.write(f"{proc.pid} {rusage.ru_maxrss * 1024}\n")
    time.sleep(args.hold)
    del held
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=0, help="MiB the leaf holds")
    parser.add_argument("--hold", type=float, default=0.0, help="seconds the leaf holds it")
    parser.add_argument("--depth", type=int, default=0, help="levels of children above the leaf")
    parser.add_argument("--spike-mib", type=int, default=0, help="MiB of a short spike")
    parser.add_argument("--spike-ms", type=float, default=50.0, help="how long the spike is held")
    parser.add_argument("--spike-after", type=float, default=0.3, help="seconds before the spike")
    parser.add_argument("--exit-after-spike", action="store_true", help="exit right after it")
    parser.add_argument("--small-child", type=float, default=0.0,
                        help="after allocating, run a small child for this many seconds")
    parser.add_argument("--rusage-file", help="write '<child pid> <its ru_maxrss bytes>' here")
    parser.add_argument("--ignore-term", action="store_true", help="ignore SIGTERM everywhere")
    parser.add_argument("--setsid", action="store_true", help="the leaf leaves the session")
    parser.add_argument("--orphan", action="store_true",
                        help="the process above the leaf exits after 0.3 s, orphaning it")
    parser.add_argument("--linger", type=float, default=0.0,
                        help="seconds a non-leaf sleeps after its child has exited")
    parser.add_argument("--pidfile", help="append the pid of every process here")
    args = parser.parse_args()

    if args.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    record_pid(args.pidfile)
    if args.depth <= 0:
        return leaf(args)
    child = subprocess.Popen(child_argv(args))
    if args.orphan and args.depth == 1:
        time.sleep(0.3)
        os._exit(0)  # no wait: the leaf is reparented away from the tree's root
    code = child.wait()
    time.sleep(args.linger)
    return code


if __name__ == "__main__":
    sys.exit(main())
