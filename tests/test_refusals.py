"""Every bad input the harness is known to refuse: one line on stderr, exit code 2,
no traceback and nothing run or written. REFUSALS is the table; docs/refusals.md is
generated from it (`python tests/test_refusals.py` rewrites its table) and
test_docs_list_every_refusal keeps the two equal."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "refusals.md"
SMOKE_RUN = ROOT / "tests" / "data" / "recorded-smoke"
WORKERS_RUN = ROOT / "results" / "baselines" / "workers-20261203"
IMPORT_TOML = "[[matrix]]\nphases = ['import']\n"


@dataclass(frozen=True)
class Refusal:
    """One bad input: the command line ({tmp} is a fresh folder), what is set up
    first, and the line the harness must print."""

    what: str
    argv: str
    line: str
    """A regular expression the one stderr line must contain."""
    setup: Callable[[Path], None] = lambda tmp: None


def _file(name: str, data: bytes | str) -> Callable[[Path], None]:
    def make(tmp: Path) -> None:
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode())

    return make


def _run_with_corrupt_line(tmp: Path) -> None:
    """A run whose results.jsonl has a corrupt line that is not the last."""
    run = tmp / "results" / "r"
    run.mkdir(parents=True)
    (run / "scenario.toml").write_text(IMPORT_TOML)
    lines = (SMOKE_RUN / "results.jsonl").read_text().splitlines()
    (run / "results.jsonl").write_text("\n".join([lines[0], "{not json", lines[1]]) + "\n")


def _run_with_bad_record(tmp: Path) -> None:
    """A run folder whose results.jsonl has a complete line that is not a record."""
    run = tmp / "bad"
    run.mkdir()
    (run / "results.jsonl").write_text('{"run_id": "x"}\n')


def _smoke_run(
    line: str | None = None,
    info: bytes | None = None,
    name: str = "run",
    *,
    only: bool = False,
    times: int = 1,
) -> Callable[[Path], None]:
    """A copy of the recorded smoke run as {tmp}/run, with ``line`` appended ``times``
    to its results (``only``: in place of them) and ``info`` as its run.json (b"/"
    makes run.json a folder)."""

    def make(tmp: Path) -> None:
        import shutil

        run = tmp / name
        shutil.copytree(SMOKE_RUN, run)
        if line is not None:
            with (run / "results.jsonl").open("w" if only else "a") as fh:
                fh.write((line + "\n") * times)
        if info == b"/":
            (run / "run.json").unlink()
            (run / "run.json").mkdir()
        elif info is not None:
            (run / "run.json").write_bytes(info)

    return make


def _smoke_line(**changes: object) -> str:
    """The smoke run's first record with ``changes`` (a value "NaN": a bare NaN)."""
    data = {**json.loads((SMOKE_RUN / "results.jsonl").read_text().splitlines()[0]), **changes}
    return json.dumps(data).replace('"NaN"', "NaN")


def _generated_with_users_file(tmp: Path) -> None:
    from harness.generate import generate_project

    generate_project(tmp / "p", 10)
    (tmp / "p" / "models" / "notes.txt").write_text("the user's\n")


def _shop(tmp: Path) -> None:
    """A copy of the fixture dbt project as {tmp}/shop, and an empty {tmp}/results."""
    import shutil

    shutil.copytree(ROOT / "tests" / "data" / "shop_project", tmp / "shop")
    (tmp / "results").mkdir()


def _script(body: str, mode: int = 0o755) -> Callable[[Path], None]:
    """{tmp}/s with ``body`` and ``mode``."""

    def make(tmp: Path) -> None:
        (tmp / "s").write_text(body)
        (tmp / "s").chmod(mode)

    return make


def _toml(body: str) -> Callable[[Path], None]:
    return _file("s.toml", body)


REFUSALS = [
    Refusal("generate: --out under /proc", "generate --models 10 --out /proc/xyz",
            r"--out: cannot create /proc/xyz"),
    Refusal("generate: --out below a file", "generate --models 10 --out {tmp}/file.txt/sub",
            r"--out: .*file.txt.* is not a directory|--out: cannot create", _file("file.txt", "")),
    Refusal("generate: --db-path a directory", "generate --models 10 --out {tmp}/p --db-path /tmp",
            r"--db-path: /tmp is a directory"),
    Refusal("run: scenario file not UTF-8", "run {tmp}/latin1.toml --results-dir {tmp}/results",
            r"latin1.toml: not UTF-8 text", _file("latin1.toml", "description = 'caf\xe9'\n".encode(
                "latin-1"))),
    Refusal("run: empty [[matrix]] table", "run {tmp}/empty.toml --results-dir {tmp}/results",
            r"matrix\[0\]: empty", _file("empty.toml", "[[matrix]]\n")),
    Refusal("run: task groups on your own project", "run {tmp}/g.toml --results-dir {tmp}/results",
            r"matrix\[0\]\.task_groups: needs a generated project",
            lambda t: (_file("mine/dbt_project.yml", "name: mine\nprofile: mine\n")(t),  # type: ignore[func-returns-value]
                       _file("g.toml", "[[matrix]]\nproject = 'mine'\ntask_groups = 10\n")(t))),
    Refusal("run: --results-dir a file", "run {tmp}/s.toml --results-dir {tmp}/afile",
            r"--results-dir: .*afile is not a directory",
            lambda t: (_file("s.toml", IMPORT_TOML)(t), _file("afile", "")(t))),  # type: ignore[func-returns-value]
    Refusal("run: --run-id that exists", "run {tmp}/s.toml --results-dir {tmp} --run-id s.toml",
            r"--run-id: .* exists; use --resume", _file("s.toml", IMPORT_TOML)),
    Refusal("run: --resume of an unknown run", "run --resume nope --results-dir {tmp}",
            r"--resume: no run 'nope'"),
    Refusal("run: --resume, a corrupt line not the last",
            "run --resume r --results-dir {tmp}/results",
            r"--resume: .*results.jsonl:2: not a result record", _run_with_corrupt_line),
    Refusal("merge: a complete line that is not a record", "merge {tmp}/out {tmp}/bad",
            r"bad/results.jsonl:1: not a result record", _run_with_bad_record),
    Refusal("compare: --export-pytest-benchmark a directory",
            f"compare {SMOKE_RUN} {SMOKE_RUN} --export-pytest-benchmark /tmp",
            r"--export-pytest-benchmark: /tmp is a directory"),
    Refusal("report: several runs without --out", f"report {SMOKE_RUN} {WORKERS_RUN}",
            r"several runs need --out DIR"),
    Refusal("report: --out inside a source run",
            f"report {SMOKE_RUN} {WORKERS_RUN} --out {WORKERS_RUN}/combined",
            r"--out .*combined: inside the run workers-20261203"),
    Refusal("measure: --limit-mib inf", "measure --limit-mib inf -- touch {tmp}/ran",
            r"--limit-mib must be a finite positive number, got inf"),
    Refusal("measure: --limit-mib nan", "measure --limit-mib nan -- touch {tmp}/ran",
            r"--limit-mib must be a finite positive number, got nan"),
    Refusal("measure: --limit-mib 1e30", "measure --limit-mib 1e30 -- touch {tmp}/ran",
            r"--limit-mib must be at most 1073741824, got 1e\+30"),
    Refusal("measure: --timeout 1e308", "measure --timeout 1e308 -- touch {tmp}/ran",
            r"--timeout must be at most 31622400, got 1e\+308"),
    Refusal("measure: --timeout nan", "measure --timeout nan -- touch {tmp}/ran",
            r"--timeout must be a finite positive number, got nan"),
    Refusal("measure: --grace nan", "measure --grace nan -- touch {tmp}/ran",
            r"--grace must be a finite not negative number, got nan"),
    Refusal("measure: -o a directory", "measure -o /tmp -- touch {tmp}/ran",
            r"-o: /tmp is a directory"),
    # issue 31: the user's files, the run ids, the outputs
    Refusal("run: --resume of a folder outside the results folder",
            "run {tmp}/s.toml --resume {tmp} --results-dir {tmp}/results",
            r"--resume: '.*' is not a plain name", _toml(IMPORT_TOML)),
    Refusal("run: --run-id with '..'", "run {tmp}/s.toml --run-id ../x --results-dir {tmp}/r",
            r"--run-id: '../x' is not a plain name", _toml(IMPORT_TOML)),
    Refusal("run: --run-id over the file system's name limit",
            "run {tmp}/s.toml --run-id " + "x" * 256 + " --results-dir {tmp}/r",
            r"--run-id: the name is 256 bytes, over the file system's limit of 255",
            _toml(IMPORT_TOML)),
    Refusal("run: --results-dir in a missing folder", "run {tmp}/s.toml --results-dir {tmp}/a/r",
            r"--results-dir: .*/a does not exist; make it first", _toml(IMPORT_TOML)),
    Refusal("generate: --out in a missing folder", "generate --models 10 --out {tmp}/a/b/c",
            r"--out: .*/a/b does not exist; make it first"),
    Refusal("generate: --out a generated folder holding a file of the user's",
            "generate --models 20 --out {tmp}/p",
            r"holds models/notes.txt, which harness generate did not write",
            _generated_with_users_file),
    Refusal("merge: a source whose name is over the file system's limit",
            "merge {tmp}/out {tmp}/" + "x" * 300, "File name too long"),
    Refusal("merge: OUT inside a source run", "merge {tmp}/run/merged {tmp}/run",
            r"OUT: .* is inside the run", _smoke_run()),
    Refusal("filter: OUT inside the source run", "filter {tmp}/run {tmp}/run/sub --status ok",
            r"OUT: .* is inside the run", _smoke_run()),
    Refusal("history: --out inside a run", "history {tmp}/run --out {tmp}/run/page",
            r"--out: .* is inside the run", _smoke_run()),
    Refusal("compare: --export-pytest-benchmark over a run's results",
            "compare {tmp}/run {tmp}/run --export-pytest-benchmark {tmp}/run/results.jsonl",
            r"would replace part of the run", _smoke_run()),
    Refusal("compare: --threshold -5", f"compare {SMOKE_RUN} {SMOKE_RUN} --threshold -5",
            r"--threshold: expected a percent between 0 and 1000, got -5"),
    # issue 31: readers of stored runs
    Refusal("compare: run.json a list", f"compare {SMOKE_RUN} {{tmp}}/run",
            r"run.json: not a run.json: expected a JSON object, got list", _smoke_run(info=b"[]")),
    Refusal("compare: run.json a directory", f"compare {SMOKE_RUN} {{tmp}}/run",
            r"run.json: not a run.json: Is a directory", _smoke_run(info=b"/")),
    Refusal("report: run.json not UTF-8", "report {tmp}/run",
            r"run.json: not a run.json: 'utf-8' codec can't decode", _smoke_run(info=b"\xff\xfe")),
    # A record file is refused only when no line of it is a record (SKIPPED below: bad
    # lines among records are skipped with a warning).
    Refusal("merge: the only line a record of an unknown phase", "merge {tmp}/out {tmp}/run",
            r"results.jsonl:1: not a result record \(phase: unknown phase 'nope'\)",
            _smoke_run(_smoke_line(phase="nope"), only=True)),
    Refusal("filter: the only line a record of an unknown status",
            "filter {tmp}/run {tmp}/out --status ok",
            r"results.jsonl:1: not a result record \(status: 'weird' is not one of",
            _smoke_run(_smoke_line(status="weird"), only=True)),
    Refusal("compare: every line a figure NaN", f"compare {SMOKE_RUN} {{tmp}}/run",
            r"results.jsonl:1: not a result record \(NaN is not a number.*; 1 more line is "
            r"not a record either", _smoke_run(_smoke_line(started_at="NaN"), only=True, times=2)),
    Refusal("compare: the only line's schema_version a string", f"compare {SMOKE_RUN} {{tmp}}/run",
            r"schema_version: expected a whole number",
            _smoke_run(_smoke_line(schema_version="2"), only=True)),
    Refusal("history: the only line nested 5000 deep", "history {tmp}/run --out {tmp}/out",
            r"results.jsonl:1: not a result record \(nested too deeply\)",
            _smoke_run("[" * 5000 + "]" * 5000, only=True)),
    # issue 31: scenario values checked at load
    Refusal("run: timeout_s nan", "run {tmp}/s.toml --dry-run --results-dir {tmp}",
            r"timeout_s: expected a finite positive number, got nan",
            _toml("timeout_s = nan\n" + IMPORT_TOML)),
    Refusal("run: timeout_s 1e300", "run {tmp}/s.toml --dry-run --results-dir {tmp}",
            r"timeout_s: must be at most 31622400, got 1e\+300",
            _toml("timeout_s = 1e300\n" + IMPORT_TOML)),
    Refusal("run: repetitions 100000", "run {tmp}/s.toml --dry-run --results-dir {tmp}",
            r"repetitions: must be at most 1000, got 100000",
            _toml("repetitions = 100000\n" + IMPORT_TOML)),
    Refusal("run: concurrency 100000", "run {tmp}/s.toml --dry-run --results-dir {tmp}",
            r"concurrency: must be at most 256, got 100000",
            _toml("[[matrix]]\nphases = ['dag_run']\nconcurrency = 100000\n")),
    Refusal("run: worker_limit_mib 10**12", "run {tmp}/s.toml --dry-run --results-dir {tmp}",
            r"worker_limit_mib: must be at most 1048576",
            _toml(IMPORT_TOML + "worker_limit_mib = 1000000000000\n")),
    Refusal("run: phases a nested list", "run {tmp}/s.toml --dry-run --results-dir {tmp}",
            r"phases: expected phase names, got \['import'\]",
            _toml("[[matrix]]\nphases = [['import']]\n")),
    Refusal("run: an integer of 5000 digits", "run {tmp}/s.toml --dry-run --results-dir {tmp}",
            r"malformed TOML: Exceeds the limit \(4300 digits\)",
            _toml("repetitions = " + "9" * 5000 + "\n" + IMPORT_TOML)),
    Refusal("run: a NUL byte in a project path", "run {tmp}/s.toml --dry-run --results-dir {tmp}",
            r"project: the path holds a NUL byte",
            _toml('[[matrix]]\nphases = ["import"]\nproject = "a\\u0000b"\n')),
    Refusal("run: a project whose dbt_project.yml is broken YAML",
            "run {tmp}/s.toml --dry-run --results-dir {tmp}",
            r"dbt_project.yml cannot be read as YAML",
            lambda t: (_file("mine/dbt_project.yml", "name: [unclosed\n")(t),  # type: ignore[func-returns-value]
                       _toml("[[matrix]]\nphases = ['import']\nproject = 'mine'\n")(t))),
    # issue 31, refuse before doing
    Refusal("advise: --budget 0", "advise {tmp}/shop --budget 0 --profile harness "
            "--results-dir {tmp}/results", r"--budget: 0.0 min is too small", _shop),
    Refusal("advise: --run-id with '..'", "advise {tmp}/shop --run-id ../x --results-dir {tmp}/r",
            r"--run-id: '../x' is not a plain name", _shop),
    Refusal("measure: a script without an interpreter line", "measure -o {tmp}/o.json -- {tmp}/s",
            r"cannot run .*/s: not a program the kernel can start \(a script needs an "
            r"interpreter line", _script("touch \"$0.ran\"\n")),
    Refusal("measure: a script whose interpreter does not exist",
            "measure -o {tmp}/o.json -- {tmp}/s",
            r"its interpreter line names /no/such/sh, which does not exist",
            _script("#!/no/such/sh\ntouch \"$0.ran\"\n")),
    Refusal("measure: a script not executable", "measure -- {tmp}/s",
            r"/s: not executable \(chmod \+x it", _script("#!/bin/sh\ntouch \"$0.ran\"\n", 0o644)),
    Refusal("measure: a script that does not exist", "measure -- {tmp}/s",
            r"/s: no such file"),
    Refusal("measure: -o a device", "measure -o /dev/full -- touch {tmp}/ran",
            r"-o: /dev/full is not a regular file"),
    Refusal("measure: -o in /proc", "measure -o /proc/version -- touch {tmp}/ran",
            r"-o: /proc/version is in /proc, a kernel file system"),
    Refusal("measure: -o a link to a missing folder", "measure -o {tmp}/link -- touch {tmp}/ran",
            r"-o: cannot write .*/link \(a link to .*/gone/o.json\): No such file or directory",
            lambda t: (t / "link").symlink_to(t / "gone" / "o.json")),
]


def _argv(r: Refusal | Skipped, tmp: Path) -> list[str]:
    return [a.replace("{tmp}", str(tmp)) for a in r.argv.split()]


@pytest.mark.parametrize("refusal", REFUSALS, ids=[r.what for r in REFUSALS])
def test_bad_input_is_one_line_and_exit_2(
    refusal: Refusal, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refusal.setup(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code = main(_argv(refusal, tmp_path))
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, captured.err
    assert len(lines) == 1, captured.err
    assert re.search(refusal.line, lines[0]), lines[0]
    assert captured.out == ""  # nothing computed or printed before the refusal
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert after == before  # nothing run, nothing written


@dataclass(frozen=True)
class Skipped:
    """Bad lines among the records of a stored run: skipped, named in one warning line,
    and the command goes on with the good records (exit 0)."""

    what: str
    argv: str
    line: str
    """A regular expression the one warning line must contain."""
    setup: Callable[[Path], None]


FIVE_BAD = "\n".join([_smoke_line(phase="nope"), "{not json", _smoke_line(status="weird"),
                      "[" * 5000 + "]" * 5000, _smoke_line(started_at="NaN")])  # fmt: skip
SKIPPED = [
    Skipped("merge: a record of an unknown phase", "merge {tmp}/out {tmp}/run",
            r"results.jsonl: skipped line 12 \(phase: unknown phase 'nope'\): not a result "
            r"record$", _smoke_run(_smoke_line(phase="nope"))),
    Skipped("filter: a record of an unknown status", "filter {tmp}/run {tmp}/out --status ok",
            r"skipped line 12 \(status: 'weird' is not one of", _smoke_run(
                _smoke_line(status="weird"))),
    Skipped("compare: a figure NaN", f"compare {SMOKE_RUN} {{tmp}}/run",
            r"skipped line 12 \(NaN is not a number", _smoke_run(_smoke_line(started_at="NaN"))),
    Skipped("compare: schema_version a string", f"compare {SMOKE_RUN} {{tmp}}/run",
            r"skipped line 12 \(schema_version: expected a whole number",
            _smoke_run(_smoke_line(schema_version="2"))),
    Skipped("history: five bad lines", "history {tmp}/run --out {tmp}/out",
            r"skipped 5 lines that are not result records: 12 \(phase: .*\), 13 \(Expecting "
            r"property name.*\), 14 \(status: .*\) and 2 more$", _smoke_run(FIVE_BAD)),
]


@pytest.mark.parametrize("case", SKIPPED, ids=[c.what for c in SKIPPED])
def test_bad_lines_among_records_are_skipped_with_one_warning(
    case: Skipped, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case.setup(tmp_path)
    code = main(_argv(case, tmp_path))
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 0, lines
    assert len(lines) == 1, lines
    command = case.argv.split()[0]
    assert lines[0].startswith(f"harness {command}: warning: {tmp_path}/run/results.jsonl: ")
    assert re.search(case.line, lines[0]), lines[0]


def render_table(lines: dict[str, str], cases: list[Refusal] | list[Skipped] = REFUSALS,
                 last: str = "The one line on stderr (exit 2)") -> str:  # fmt: skip
    """A table of docs/refusals.md: bad input, command, the line printed."""
    out = [f"| Bad input | Command | {last} |", "|---|---|---|"]
    for r in cases:
        argv = r.argv.replace(str(ROOT) + "/", "")
        out.append(f"| {r.what} | `harness {argv}` | `{lines[r.what]}` |")
    return "\n".join(out) + "\n"


def collect_lines(
    tmp_root: Path, cases: list[Refusal] | list[Skipped] = REFUSALS
) -> dict[str, str]:
    """The line each case prints, with its temporary folder shown as {tmp}."""
    import contextlib
    import io

    found = {}
    for i, r in enumerate(cases):
        tmp = tmp_root / f"case{i}"
        tmp.mkdir()
        r.setup(tmp)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            main(_argv(r, tmp))
        found[r.what] = err.getvalue().strip().replace(str(tmp), "{tmp}").replace(
            str(ROOT) + "/", "")
    return found


MARKERS = {"refusals": "The one line on stderr (exit 2)", "skipped": "The warning (exit 0)"}


def tables(tmp_root: Path) -> dict[str, str]:
    """Each generated table of docs/refusals.md by its marker's name."""
    (tmp_root / "r").mkdir()
    (tmp_root / "s").mkdir()
    return {
        "refusals": render_table(collect_lines(tmp_root / "r")),
        "skipped": render_table(collect_lines(tmp_root / "s", SKIPPED), SKIPPED,
                                MARKERS["skipped"]),
    }  # fmt: skip


def test_docs_list_every_refusal(tmp_path: Path) -> None:
    text = DOCS.read_text()
    for name, table in tables(tmp_path).items():
        section = text.split(f"<!-- {name}:begin -->", 1)[1].split(f"<!-- {name}:end -->", 1)[0]
        assert section.strip() == table.strip(), (
            f"docs/refusals.md's {name} table differs: run `python tests/test_refusals.py`"
        )


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        made = tables(Path(d))
    text = DOCS.read_text()
    for name, table in made.items():
        begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
        head, rest = text.split(begin, 1)
        text = head + begin + "\n" + table + end + rest.split(end, 1)[1]
    DOCS.write_text(text)
    json.dump({"rows": len(REFUSALS), "skipped": len(SKIPPED)}, sys.stdout)
