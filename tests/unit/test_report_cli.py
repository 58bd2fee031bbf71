"""The published schema of the `qlab` block, and `python -m pytest_qlab.report summary|compare`
on saved reports: verdicts, the changes that matter, and one clear error for a bad file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_qlab.core.verdict import Rating
from pytest_qlab.drive import DriveInfo
from pytest_qlab.report.cli import main
from pytest_qlab.report.entries import TestEntry
from pytest_qlab.report.model import (
    SCHEMA_VERSION,
    ProfileReport,
    QlabReport,
    VolumeReport,
    json_schema,
)

REPO = Path(__file__).resolve().parents[2]
SCHEMA_FILE = REPO / "schema" / "qlab-report.schema.json"


def _volume(name: str, rating: Rating, **measurements: Any) -> VolumeReport:
    return VolumeReport(
        path=f"/Volumes/{name}",
        requested_path=f"/Volumes/{name}",
        name=name,
        mount_point=f"/Volumes/{name}",
        system_default=False,
        rating=rating,
        ready=rating.meets(Rating.ACCEPTABLE),
        interrupted=False,
        rating_reasons=[f"rated {rating.value}"],
        measurements=measurements,
        max_streams=f"plays up to {measurements.get('max_streams', 0)} x UHD ProRes 422 HQ",
        matrix=[],
        drive=DriveInfo(model="Samsung PSSD T7", serial="S5X"),
        advisories=[],
    )


def _report(*volumes: VolumeReport, temperature_c: float | None = None) -> dict[str, Any]:
    tests = []
    if temperature_c is not None:
        tests.append(
            TestEntry(
                nodeid="suites/test_sustained.py::test_sustained_read[Show]",
                name="test_sustained_read[Show]",
                mode="sustained",
                volume=volumes[0].name,
                phase=None,
                outcome="passed",
                measured="read 700.0 MB/s",
                required="656.0 MB/s",
                series={"thermal": {"summary": {"temperature_max_c": temperature_c}}},
            )
        )
    qlab = QlabReport(
        rehearsal=False,
        time_scale=1.0,
        required=Rating.ACCEPTABLE,
        interrupted=False,
        interrupted_by=None,
        fio_version="fio-3.33",
        profile=ProfileReport(
            name="default",
            headroom=1.0,
            player_buffer_frames=3,
            normal_mb_s=656.0,
            crossfade_mb_s=2100.0,
            crossfade_duration_s=5.0,
            crossfade_every_s=180.0,
            streams=[],
            crossfade_streams=[],
            derivation=[],
        ),
        requirements=[],
        volumes=list(volumes),
        tests=tests,
    )
    return {"exitcode": 0, "qlab": qlab.model_dump(mode="json")}


def _save(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_committed_schema_is_the_models() -> None:
    """Regenerate with `python -m pytest_qlab.report schema > schema/qlab-report.schema.json`."""
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == json_schema()
    assert committed["x-schema-version"] == SCHEMA_VERSION


def test_a_built_report_validates_against_the_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    document = _report(_volume("Show", Rating.EXCELLENT, read_mb_s=900.0), temperature_c=48.0)
    jsonschema.validate(document["qlab"], json_schema())


def test_summary_prints_each_volumes_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = _report(
        _volume("Show", Rating.EXCELLENT, read_mb_s=900.0),
        _volume("Backup", Rating.INSUFFICIENT, read_mb_s=300.0),
    )
    path = _save(tmp_path / "run.json", document)

    assert main(["summary", str(path)]) == 0

    out = capsys.readouterr().out
    assert "Show: EXCELLENT - READY for Acceptable" in out
    assert "Backup: INSUFFICIENT - NOT READY for Acceptable" in out
    assert "drive: Samsung PSSD T7" in out


def test_compare_prints_the_changes_that_matter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _report(
        _volume(
            "Show",
            Rating.EXCELLENT,
            read_mb_s=900.0,
            sustained_read_mb_s=800.0,
            max_streams=6,
            normal_playback_dropped_frames=0,
        ),
        temperature_c=45.0,
    )
    after = _report(
        _volume(
            "Show",
            Rating.ACCEPTABLE,
            read_mb_s=910.0,  # within noise: not a change
            sustained_read_mb_s=560.0,
            max_streams=4,
            normal_playback_dropped_frames=12,
        ),
        temperature_c=71.0,
    )
    first = _save(tmp_path / "a.json", before)
    second = _save(tmp_path / "b.json", after)

    assert main(["compare", str(first), str(second)]) == 0

    out = capsys.readouterr().out
    assert "verdict: Show: EXCELLENT - READY for Acceptable -> Show: ACCEPTABLE" in out
    assert "sustained read: 800 MB/s -> 560 MB/s (-30%)" in out
    assert "max streams: 6 -> 4" in out
    assert "dropped frames, normal playback: 0 frames -> 12 frames" in out
    assert "hottest drive temperature: 45 °C -> 71 °C" in out
    assert "sequential read" not in out


def test_compare_of_a_run_with_itself_reports_no_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _save(tmp_path / "a.json", _report(_volume("Show", Rating.EXCELLENT, read_mb_s=900.0)))
    assert main(["compare", str(path), str(path)]) == 0
    assert "Show: no change that matters" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        ("{not json", "not JSON"),
        ('{"tests": []}', "not a pytest-qlab report"),
        ('{"qlab": {"schema_version": "9.0"}}', "report schema 9.0"),
        ('{"qlab": {"schema_version": "1.1", "volumes": 3}}', "invalid 'qlab' block"),
    ],
    ids=["missing", "not-json", "no-qlab", "future-schema", "invalid"],
)
def test_bad_files_are_one_clear_error(tmp_path: Path, content: str | None, expected: str) -> None:
    path = tmp_path / "report.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest_qlab.report", "summary", str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {path}: {expected}"), result.stderr
