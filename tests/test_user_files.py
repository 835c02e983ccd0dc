"""The harness deletes or overwrites only what it made, inside its own folders (issue
31): a user's file placed where a careless or hostile command line points survives,
the command is refused in one line with exit code 2, and the refusal leaves nothing
behind. None of these starts the stack."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fuzz_cli import snapshot

from harness.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMOKE_RUN = ROOT / "tests" / "data" / "recorded-smoke"
IMPORT_TOML = "[[matrix]]\nphases = ['import']\n"


def refused(capsys: pytest.CaptureFixture[str], argv: list[str], words: str) -> str:
    """Run the harness in-process; assert one line naming ``words`` and exit code 2."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert words in err, err
    return err


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    """A folder of the user's, with a file in it, beside a scenario file."""
    mine = tmp_path / "mine"
    (mine / "work").mkdir(parents=True)
    (mine / "work" / "thesis.txt").write_text("years of work\n")
    (tmp_path / "s.toml").write_text(IMPORT_TOML)
    return mine


@pytest.mark.parametrize("flag", ["--resume", "--rerun-failed"])
def test_resume_of_a_path_outside_the_results_folder_is_refused(
    tmp_path: Path, user_dir: Path, flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(tmp_path)
    for name in (str(user_dir), "../mine", f"{tmp_path.name}/../mine"):
        argv = ["run", str(tmp_path / "s.toml"), flag, name, "--results-dir", str(tmp_path / "r")]
        refused(capsys, argv, f"{flag}: ")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "run_id, words",
    [("../mine", "is not a plain name"), ("a/b", "is not a plain name"), ("..", "plain name"),
     ("", "plain name"), ("x" * 300, "over the file system's limit"),
     ("a\nb", "line break")],
)  # fmt: skip
def test_a_run_id_is_a_plain_name_under_the_results_folder(
    tmp_path: Path, user_dir: Path, run_id: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(tmp_path)
    for dry in ([], ["--dry-run"]):
        argv = ["run", str(tmp_path / "s.toml"), "--run-id", run_id,
                "--results-dir", str(tmp_path / "r"), *dry]  # fmt: skip
        err = refused(capsys, argv, words)
        assert "--run-id: " in err  # in its own name, not --results-dir's
    assert snapshot(tmp_path) == before


def test_results_dir_whose_parent_is_missing_is_refused(
    tmp_path: Path, user_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", str(tmp_path / "s.toml"), "--results-dir", str(tmp_path / "a" / "b" / "r")]
    refused(capsys, argv, "does not exist; make it first")
    assert not (tmp_path / "a").exists()


def test_generate_keeps_a_users_file_in_a_generated_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p"
    assert main(["generate", "--models", "10", "--out", str(out)]) == 0
    for mine in (out / "notes.txt", out / "models" / "staging" / "mine.sql"):
        mine.write_text("the user's\n")
        before = snapshot(tmp_path)
        err = refused(capsys, ["generate", "--models", "20", "--out", str(out)], "did not write")
        assert str(mine.relative_to(out)) in err
        assert snapshot(tmp_path) == before
        mine.unlink()
    (out / "mydir").mkdir()
    refused(capsys, ["generate", "--models", "20", "--out", str(out)], "mydir")
    assert (out / "mydir").is_dir()
    # dbt's own outputs are the harness's to replace, with the generator's files.
    (out / "mydir").rmdir()
    (out / "target").mkdir()
    (out / "target" / "manifest.json").write_text("{}")
    assert main(["generate", "--models", "20", "--out", str(out)]) == 0
    assert not (out / "target").exists()


def test_generate_into_a_missing_parent_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(capsys, ["generate", "--models", "10", "--out", str(tmp_path / "a/b/c")],
            "does not exist; make it first")  # fmt: skip
    refused(capsys, ["generate", "--models", "10", "--out", str(tmp_path / ("x" * 300))],
            "over the file system's limit")  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def _run_copy(tmp_path: Path, name: str) -> Path:
    run = tmp_path / name
    shutil.copytree(SMOKE_RUN, run)
    return run


def test_merge_and_filter_never_write_inside_a_source_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _run_copy(tmp_path, "run")
    before = snapshot(tmp_path)
    refused(capsys, ["merge", str(run / "merged"), str(run)], "inside the run")
    refused(capsys, ["merge", str(run), str(run)], "inside the run")
    refused(capsys, ["filter", str(run), str(run / "sub"), "--status", "ok"], "inside the run")
    refused(capsys, ["merge", str(tmp_path / "a" / "b"), str(run)], "does not exist")
    refused(capsys, ["filter", str(run), str(tmp_path / "a" / "b"), "--status", "ok"],
            "does not exist")  # fmt: skip
    (tmp_path / "afile").write_text("mine\n")
    before = snapshot(tmp_path)
    refused(capsys, ["merge", str(tmp_path / "afile"), str(run)], "is not a directory")
    assert snapshot(tmp_path) == before


def test_history_never_writes_inside_a_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _run_copy(tmp_path, "run")
    before = snapshot(tmp_path)
    refused(capsys, ["history", str(run), "--out", str(run / "page")], "inside the run")
    refused(capsys, ["history", str(run), "--out", str(tmp_path / "a" / "b")], "does not exist")
    assert snapshot(tmp_path) == before


def test_compare_export_never_replaces_a_runs_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _run_copy(tmp_path, "run")
    before = snapshot(tmp_path)
    for target in (run / "results.jsonl", run / "run.json"):
        refused(capsys, ["compare", str(run), str(run), "--export-pytest-benchmark",
                         str(target)], "would replace part of the run")  # fmt: skip
    refused(capsys, ["compare", str(run), str(run), "--export-pytest-benchmark",
                     str(tmp_path / "a" / "x.json")], "does not exist")  # fmt: skip
    assert snapshot(tmp_path) == before
    # Beside the run's files is where the nightly job writes it.
    argv = ["compare", str(run), str(run), "--export-pytest-benchmark", str(run / "pb.json")]
    assert main(argv) == 0
    capsys.readouterr()


def test_an_argument_with_a_nul_byte_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    refused(capsys, ["generate", "--models", "10", "--out", "a\0b"], "NUL byte")
