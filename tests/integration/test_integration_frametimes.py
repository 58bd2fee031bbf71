"""--qlab-frametimes with real fio: the CSV's rows are the report's frames. For every replay of a
setup check (normal, crossfade, each capacity probe), the show's media and every show-pattern
phase, each stream has a row per frame it read plus one per due frame that never arrived, and
its dropped rows are the report's dropped frames; every row's lateness is its completion minus
its deadline, and no read completes before its own latency. An interrupted run keeps the rows
of the replays it finished. Nothing here asserts on deadlines being met, only on the rows and
the report agreeing, so none of it is a timing test."""

from __future__ import annotations

import csv
import json
import os
import signal
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_qlab.measure.frametimes import COLUMNS
from pytest_qlab.report.files import PARTIAL_SUFFIX
from tests.helpers.media import make_movie
from tests.integration.conftest import TWO_HD_PROFILE

if TYPE_CHECKING:
    from tests.integration.conftest import FioWatch, MainJob, MainJobRunner, Mounts

pytestmark = pytest.mark.integration

Rows = dict[tuple[str, str], list[dict[str, str]]]
"""A CSV's rows by (measurement, stream), in file order."""
LONG_SCALE = "0.00125"
"""The 2.5 h show pattern in about 11 s, each act with a crossfade."""


def _csv_of(job: MainJob, document: dict[str, Any] | None = None) -> tuple[dict[str, Any], Rows]:
    """The JSON's account of the CSV, and the CSV's rows, checked row by row on the way."""
    assert "Traceback" not in job.output, job.output
    saved = (document or job.report())["qlab"]["frametimes"]
    assert saved is not None, "the JSON does not name the CSV"
    path = Path(saved["path"])
    if document is None:
        assert saved["path"] == saved["wanted_path"], saved
        assert path.parent == job.report_path().parent, "the CSV is not beside the report"
        assert f"frame times: {path}" in job.stdout.splitlines()
    assert not [p for p in path.parent.iterdir() if p.name.endswith(PARTIAL_SUFFIX)]
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == COLUMNS == tuple(saved["columns"])
        rows: Rows = defaultdict(list)
        count = 0
        for row in reader:
            count += 1
            _check_row(row)
            rows[(row["measurement"], row["stream"])].append(row)
    assert count == saved["rows"] > 0
    for (measurement, stream), found in rows.items():
        frames = [int(row["frame"]) for row in found]
        assert len(frames) == len(set(frames)), f"{measurement} {stream}: a frame twice"
    return saved, rows


def _check_row(row: dict[str, str]) -> None:
    due_ms = float(row["due_ms"])
    assert due_ms > 0, row  # a player buffers before it shows the first frame
    assert row["dropped"] in ("0", "1"), row
    if not row["completed_ms"]:  # never arrived: dropped, nothing else to say
        assert (row["latency_ms"], row["late_ms"], row["dropped"]) == ("", "", "1"), row
        return
    completed_ms, latency_ms = float(row["completed_ms"]), float(row["latency_ms"])
    late_ms = float(row["late_ms"])
    assert latency_ms >= 0, row
    assert completed_ms + 1 >= latency_ms, f"completed before its own latency: {row}"
    assert late_ms == pytest.approx(completed_ms - due_ms, abs=0.001), row
    assert (late_ms >= 0) if row["dropped"] == "1" else (late_ms <= 0), row


def _arrived(rows: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    return [row for row in rows if row["completed_ms"]]


def _dropped(rows: Iterable[dict[str, str]]) -> int:
    return sum(int(row["dropped"]) for row in rows)


def _check_stream(rows: list[dict[str, str]], stream: dict[str, Any]) -> None:
    """One constant-rate stream's rows against its per_stream figures in the JSON."""
    arrived = _arrived(rows)
    label = stream["stream"]
    assert len(arrived) == stream["frames_read"], label
    assert len(rows) - len(arrived) == stream["missing_frames"], label
    assert _dropped(rows) == stream["dropped_frames"], label
    assert max(float(row["latency_ms"]) for row in arrived) == pytest.approx(
        stream["latency_max_ms"], abs=0.001
    ), label
    if stream["late_frames"]:
        assert max(float(row["late_ms"]) for row in arrived) == pytest.approx(
            stream["worst_lateness_ms"], abs=0.001
        ), label


def _check_replay(rows: Rows, measurement: str, metadata: dict[str, Any]) -> None:
    streams = {stream for name, stream in rows if name == measurement}
    assert streams == {item["stream"] for item in metadata["per_stream"]}, measurement
    for item in metadata["per_stream"]:
        _check_stream(rows[(measurement, item["stream"])], item)
    total = sum(_dropped(rows[(measurement, stream)]) for stream in streams)
    assert total == metadata["dropped_frames"], measurement


def test_setup_check_rows_are_the_reports_frames(tmp_path: Path, main_job: MainJobRunner) -> None:
    volume = tmp_path / "Show, main"
    media = volume / "media"
    media.mkdir(parents=True)
    make_movie(media / "backdrop.mov", profile=3, width=640, height=360, seconds=4)
    make_movie(media / "logo.mov", profile=1, seconds=4)

    job = main_job.run(volume, "--qlab-frametimes", "--qlab-media", str(media))

    saved, rows = _csv_of(job)
    volumes = {row["volume"] for found in rows.values() for row in found}
    assert volumes == {job.volume_report()["name"]}  # "system-Show, main": one quoted field
    _check_replay(rows, "normal_playback", job.test_entry("test_normal_playback")["metadata"])
    _check_replay(rows, "crossfade_peak", job.test_entry("test_crossfade_playback")["metadata"])

    capacity = job.test_entry("test_max_stream_count")["metadata"]
    assert capacity["probes"]
    for probe in capacity["probes"]:
        measurement = f"capacity-{probe['streams']:02d}"
        streams = [key for key in rows if key[0] == measurement]
        assert len(streams) == probe["streams"], measurement
        assert sum(_dropped(rows[key]) for key in streams) == probe["dropped_frames"], measurement

    for test, measurement, labels in (
        ("test_media_playback", "media-playback", ["backdrop.mov", "logo.mov"]),
        (
            "test_media_crossfade",
            "media-crossfade",
            ["backdrop.mov #1", "logo.mov #1", "backdrop.mov #2", "logo.mov #2"],
        ),
    ):
        played = job.test_entry(test)["metadata"]["per_file"]
        assert [key[1] for key in rows if key[0] == measurement] == labels
        for label, item in zip(labels, played, strict=True):
            found = rows[(measurement, label)]
            assert len(found) == item["frames"], label  # every frame of the stretch, once
            assert _dropped(found) == item["dropped_frames"], label
            if item["dropped_frames"]:
                worst = max(float(row["late_ms"]) for row in _arrived(found))
                assert worst == pytest.approx(item["worst_lateness_ms"], abs=0.001), label

    measured = {
        "normal_playback",
        "crossfade_peak",
        "media-playback",
        "media-crossfade",
        *(f"capacity-{probe['streams']:02d}" for probe in capacity["probes"]),
    }
    assert {measurement for measurement, _ in rows} == measured
    assert saved["rows"] == sum(len(found) for found in rows.values())


def test_show_pattern_rows_are_every_phases_frames(tmp_path: Path, main_job: MainJobRunner) -> None:
    volume = tmp_path / "Show"
    volume.mkdir()
    profile = tmp_path / "two-hd.toml"
    profile.write_text(TWO_HD_PROFILE, encoding="utf-8")

    job = main_job.run(
        volume,
        "--qlab-frametimes",
        "--qlab-profile",
        str(profile),
        scale=LONG_SCALE,
        suites=("suites/test_show_pattern.py",),
    )

    _, rows = _csv_of(job)
    phases = [test for test in job.report()["tests"] if "test_phase" in test["nodeid"]]
    assert phases
    crossfades = 0
    for test in phases:
        metadata = test["metadata"]
        measurement = f"show-{metadata['phase']}"
        streams = [key for key in rows if key[0] == measurement]
        continuous = {item["stream"] for item in metadata["per_stream"]}
        incoming = [key for key in streams if key[1] not in continuous]
        assert {key[1] for key in streams} >= continuous, measurement
        for item in metadata["per_stream"]:
            _check_stream(rows[(measurement, item["stream"])], item)
        assert all(key[1].startswith("crossfade ") for key in incoming), incoming
        crossfades += len(incoming)
        total = sum(_dropped(rows[key]) for key in streams)
        assert total == metadata["dropped_frames"], measurement
    assert crossfades, "no crossfade's incoming streams in the CSV"


def test_an_interrupted_run_keeps_the_rows_of_the_replays_it_finished(
    tmp_path: Path, main_job: MainJobRunner, fio_watch: FioWatch
) -> None:
    volume = tmp_path / "Show"
    volume.mkdir()
    process = main_job.start(volume, "--qlab-frametimes", scale="0.2")
    try:
        fio_watch.wait_for(process, "crossfade_peak", timeout_s=120)
        os.kill(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    job = main_job.finished(process.returncode, stdout, stderr)

    assert job.returncode == pytest.ExitCode.INTERRUPTED, job.output
    assert job.report()["qlab"]["interrupted"] is True
    _, rows = _csv_of(job)
    assert {measurement for measurement, _ in rows} == {"normal_playback"}
    _check_replay(rows, "normal_playback", job.test_entry("test_normal_playback")["metadata"])


@pytest.mark.needs_root
def test_a_report_disk_that_fills_mid_run_sends_every_row_to_the_system_temp_folder(
    tmp_path: Path, main_job: MainJobRunner, mounts: Mounts
) -> None:
    """The header fits, the first replay's rows do not: the rows move to the system temp
    folder, all of them, and one line says so; the verdict and the exit code stay."""
    volume = tmp_path / "Show"
    volume.mkdir()
    disk = mounts.tmpfs("report-disk", "64k")
    main_job.report_dir = disk / "reports"
    main_job.report_dir.mkdir()
    filler = disk / "filler.bin"
    filler.write_bytes(b"\0" * (64 - 8) * 1024)  # two 4 KiB pages left: the header's and one

    job = main_job.run(volume, "--qlab-frametimes", "-k", "normal_playback")

    assert "Traceback" not in job.output, job.output
    assert "pytest-qlab verdict" in job.stdout, job.output
    copies = {
        Path(line.split(" ", 1)[0]).suffix: line
        for line in (
            line.removeprefix("report ").removeprefix("frame times ")
            for line in job.stdout.splitlines()
            if " could not be written (No space left on device): a copy is at " in line
        )
    }
    assert sorted(copies) == [".csv", ".html", ".json"], job.output
    copy = Path(copies[".csv"].rsplit(" a copy is at ", 1)[1])
    assert copy.parent == job.system_temp.resolve(), copies[".csv"]
    json_copy = Path(copies[".json"].rsplit(" a copy is at ", 1)[1])
    document = json.loads(json_copy.read_text(encoding="utf-8"))
    saved, rows = _csv_of(job, document)
    assert Path(saved["path"]) == copy
    assert Path(saved["wanted_path"]).parent == main_job.report_dir.resolve()
    assert saved["cause"] == "No space left on device"
    assert job.returncode == document["exitcode"]
    expected = pytest.ExitCode.OK if document["qlab"]["volumes"][0]["ready"] else 1
    assert job.returncode == expected, job.output
    assert copy.stat().st_size > 8 * 1024, "the rows would have fitted: nothing failed"
    normal = next(test for test in document["tests"] if "test_normal_playback" in test["nodeid"])
    _check_replay(rows, "normal_playback", normal["metadata"])
    assert sorted(main_job.report_dir.iterdir()) == [], "a cut-off or temporary file was left"
