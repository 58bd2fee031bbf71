"""A report path the user chose is checked like the default folder: before the run opens, with
one line naming the option to change, and a refused run leaves no report folder behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("option", "name"), [("--html", "run.html"), ("--json-report-file", "run.json")]
)
def test_chosen_report_path_through_a_file_is_refused_at_the_start(
    run_qlab: Callable[..., pytest.RunResult],
    qlab_pytester: pytest.Pytester,
    report_dir: Path,
    volume: Path,
    option: str,
    name: str,
) -> None:
    in_the_way = qlab_pytester.path / "notes.txt"
    in_the_way.write_bytes(b"notes\n")
    chosen = in_the_way / "reports" / name

    result = run_qlab("--collect-only", "--volume", str(volume), option, str(chosen))

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output, output
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert errors == [
        f"ERROR: report folder {chosen.parent} cannot be created: {in_the_way} is a file, "
        f"not a folder; give a folder you can write to with {option}"
    ], output
    assert not report_dir.exists(), "the refused run left the default report folder"
    assert in_the_way.read_bytes() == b"notes\n"
