"""--qlab-frametimes as a user meets it: a place the CSV cannot go is refused in one line before
anything is measured, a run that only collects leaves no CSV, the ini can ask for it, and a
measuring run names the CSV in the terminal, the JSON and the HTML (the rows themselves are
checked against the report with real fio in tests/integration/test_integration_frametimes.py)."""

from __future__ import annotations

import csv
import html
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_qlab.measure.frametimes import COLUMNS

if TYPE_CHECKING:
    from tests.plugin.conftest import SharedRun


def _frametimes(folder: Path) -> list[Path]:
    return sorted(folder.glob("*frametimes*")) if folder.exists() else []


def test_a_folder_where_the_csv_goes_is_refused_before_anything_is_measured(
    run_qlab: Callable[..., pytest.RunResult],
    qlab_pytester: pytest.Pytester,
    volume: Path,
    fio_stand_in: Path,
) -> None:
    chosen = qlab_pytester.path / "chosen"
    in_the_way = chosen / "run-frametimes.csv"
    in_the_way.mkdir(parents=True)

    # Refused before fio would run: the stand-in lets it get that far where fio is not installed.
    result = run_qlab(
        "--volume",
        str(volume),
        "--html",
        str(chosen / "run.html"),
        "--qlab-frametimes",
        "--fio",
        str(fio_stand_in),
    )

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output, output
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert errors == [
        f"ERROR: frame times file {in_the_way} is a folder, not a file; give a report folder "
        "you can write to with --qlab-report-dir, or an --html path"
    ], output
    assert "collected" not in result.stdout.str(), "a refused run must not start testing"
    assert sorted(path.name for path in chosen.iterdir()) == ["run-frametimes.csv"]
    assert sorted(volume.iterdir()) == [], "the refused run wrote on the volume"


def test_a_run_that_only_collects_leaves_no_csv(
    run_qlab: Callable[..., pytest.RunResult],
    default_json: Callable[[], dict[str, Any]],
    report_dir: Path,
    volume: Path,
) -> None:
    result = run_qlab("--collect-only", "--volume", str(volume), "--qlab-frametimes")

    assert result.ret == pytest.ExitCode.OK
    assert _frametimes(report_dir) == []
    assert [path for path in report_dir.iterdir() if path.name.startswith(".")] == []
    assert not [line for line in result.stdout.lines if line.startswith("frame times")]
    assert default_json()["qlab"]["frametimes"] is None


def test_the_ini_asks_for_it_and_a_bad_value_is_one_line(
    qlab_pytester: pytest.Pytester,
    run_qlab: Callable[..., pytest.RunResult],
    report_dir: Path,
    volume: Path,
) -> None:
    ini = qlab_pytester.makeini("[pytest]\nqlab_frametimes = perhaps\n")

    result = run_qlab("--collect-only", "--volume", str(volume))

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert errors == [
        f"ERROR: ini option qlab_frametimes in {ini}: invalid truth value 'perhaps'"
    ], result.stderr.str()
    assert not report_dir.exists()

    in_the_way = report_dir / "x"  # the ini's "true" is honoured: its check runs and refuses
    qlab_pytester.makeini("[pytest]\nqlab_frametimes = true\n")
    in_the_way.mkdir(parents=True)
    (report_dir / "run-frametimes.csv").mkdir()
    refused = run_qlab(
        "--collect-only", "--volume", str(volume), "--html", str(report_dir / "run.html")
    )
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    assert "frame times file" in refused.stderr.str()


@pytest.mark.integration
def test_a_measuring_run_names_its_csv_everywhere(
    shared_setup_check: Callable[..., SharedRun],
) -> None:
    run = shared_setup_check("--qlab-frametimes")

    (html_path,) = run.report_dir.glob("*.html")
    path = html_path.with_name(f"{html_path.stem}-frametimes.csv")
    assert f"frame times: {path.resolve()}" in run.result.stdout.lines
    saved = run.report["qlab"]["frametimes"]
    assert saved["path"] == saved["wanted_path"] == str(path.resolve())
    assert saved["cause"] is None
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows, "no frame in the CSV"
    assert tuple(rows[0]) == COLUMNS
    assert saved["rows"] == len(rows)
    assert {row["measurement"] for row in rows} == {"normal_playback", "crossfade_peak"}
    page = html.unescape(html_path.read_text(encoding="utf-8"))
    assert f"({len(rows)} frames: due, completed, latency, lateness, dropped) are in " in page
    assert f"{path.name}, beside this report" in page
    assert [p for p in run.report_dir.iterdir() if p.name.startswith(".")] == []
