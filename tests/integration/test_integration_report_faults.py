"""A report folder that fails, on real filesystems (issue 15, point 9): one that cannot be used is
refused at the start before anything is measured; one that fills up or disappears during the run
costs the report its place, never the verdict. The terminal still prints the verdict in full, the
exit code is the rating's, nothing half-written is left under a report's name, and one line per
report names where its copy went: the system temp folder."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_qlab.report.model import QlabReport
from pytest_qlab.report.text import verdict_line

if TYPE_CHECKING:
    from tests.integration.conftest import FioWatch, MainJob, MainJobRunner, Mounts

pytestmark = pytest.mark.integration

LOOP_MIB = 6 * 1024
"""A sparse image the setup check at time scale 0.02 (5 GB with the margin) accepts."""
ONE_MEASUREMENT = ("-k", "test_sequential_write")
"""One short measurement: what is checked here is what becomes of its reports."""
SCRATCH_ROOT_NAME = ".pytest-qlab"
LEFT_BYTES = 4096
"""What the nearly full report disk has left: less than either report needs."""
_COPY_LINE = re.compile(
    r"^report (?P<wanted>\S.*\.(?P<kind>html|json)) could not be written "
    r"\((?P<cause>[^)]+)\): a copy is at (?P<copy>\S.*)$",
    re.MULTILINE,
)


def _copies(job: MainJob) -> dict[str, tuple[Path, str, Path]]:
    """Each report the run could not write where it should: kind -> (wanted, cause, copy)."""
    found = {
        match["kind"]: (Path(match["wanted"]), match["cause"], Path(match["copy"]))
        for match in _COPY_LINE.finditer(job.stdout)
    }
    assert found, f"no line names a report's copy\n{job.output}"
    return found


def _assert_verdict_and_exit_code_kept(job: MainJob, document: dict[str, object]) -> None:
    """The verdict section as the JSON copy records it, line by line, and its exit code."""
    assert "Traceback" not in job.output, job.output
    assert "INTERNALERROR" not in job.output, job.output
    assert "pytest-qlab verdict" in job.stdout, job.output
    qlab = QlabReport.model_validate(document["qlab"])
    for volume in qlab.volumes:
        assert verdict_line(qlab, volume) in job.stdout, job.output
        for reason in volume.rating_reasons:
            assert f"  {reason}" in job.stdout, job.output
    expected = pytest.ExitCode.OK if qlab.all_ready else pytest.ExitCode.TESTS_FAILED
    assert job.returncode == expected, job.output
    assert document["exitcode"] == job.returncode


def _assert_copies_whole(job: MainJob, report_dir: Path, cause: str) -> dict[str, object]:
    """Both reports copied whole into the system temp folder; returns the JSON copy."""
    copies = _copies(job)
    assert sorted(copies) == ["html", "json"], job.output
    for wanted, said, copy in copies.values():
        assert wanted.parent == report_dir.resolve()
        assert said == cause, job.output
        assert copy.parent == job.system_temp.resolve()
        assert copy.name == wanted.name
    page = copies["html"][2].read_text(encoding="utf-8")
    assert page.rstrip().endswith("</html>"), "the HTML copy is cut short"
    # pytest-html's closing line names the copy too, not the file that is not there.
    assert f"Generated html report: {copies['html'][2].as_uri()}" in job.stdout, job.output
    document = json.loads(copies["json"][2].read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    for volume in QlabReport.model_validate(document["qlab"]).volumes:
        verdict = "NOT RATED" if volume.rating is None else volume.rating.label.upper()
        assert verdict in page, "the HTML copy has no verdict"
    return document


def _nearly_fill(folder: Path) -> None:
    """Fill `folder`'s filesystem, then free LEFT_BYTES: a report starts to be written, and runs
    out of space part-way, as on the drive that left a JSON report cut off at 4096 bytes."""
    filler = folder / "filler.bin"
    with filler.open("wb") as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * 65536)
            handle.flush()
    with pytest.raises(OSError, match="No space left on device") as refused:
        (folder / "probe").write_bytes(b"x" * 4096)
    assert refused.value.errno == errno.ENOSPC
    os.truncate(filler, filler.stat().st_size - LEFT_BYTES)
    stats = os.statvfs(folder)
    assert 0 < stats.f_bavail * stats.f_frsize <= LEFT_BYTES, "the report disk is not nearly full"


@pytest.mark.needs_root
def test_report_folder_on_a_full_disk(main_job: MainJobRunner, mounts: Mounts) -> None:
    volume = mounts.loop_ext4("show", LOOP_MIB)
    disk = mounts.tmpfs("report-disk", "256k")
    main_job.report_dir = disk / "reports"
    main_job.report_dir.mkdir()
    _nearly_fill(disk)

    job = main_job.run(volume, *ONE_MEASUREMENT)

    document = _assert_copies_whole(job, main_job.report_dir, "No space left on device")
    _assert_verdict_and_exit_code_kept(job, document)
    assert sorted(main_job.report_dir.iterdir()) == [], "a cut-off or temporary report was left"
    for _, _, copy in _copies(job).values():
        assert copy.stat().st_size > LEFT_BYTES, f"{copy} would have fitted: nothing was cut off"
    assert not (volume / SCRATCH_ROOT_NAME).exists()


@pytest.mark.needs_root
def test_report_folder_removed_mid_run(
    main_job: MainJobRunner, mounts: Mounts, fio_watch: FioWatch
) -> None:
    volume = mounts.loop_ext4("show", LOOP_MIB)
    process = main_job.start(volume, *ONE_MEASUREMENT)
    try:
        fio_watch.wait_for(process, "sequential-write")
        assert main_job.report_dir.is_dir(), "the report folder was not made at the start"
        shutil.rmtree(main_job.report_dir)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    job = main_job.finished(process.returncode, stdout, stderr)

    document = _assert_copies_whole(job, main_job.report_dir, "No such file or directory")
    _assert_verdict_and_exit_code_kept(job, document)
    # Not made again: a folder on a drive that was unplugged would land on the system disk.
    assert not main_job.report_dir.exists()
    assert not (volume / SCRATCH_ROOT_NAME).exists()


def test_report_folder_through_a_file_is_refused_before_measuring(
    main_job: MainJobRunner, tmp_path: Path
) -> None:
    volume = tmp_path / "Show"
    volume.mkdir()
    in_the_way = tmp_path / "reports.txt"
    in_the_way.write_bytes(b"a file where a folder was meant\n")
    main_job.report_dir = in_the_way / "reports"

    job = main_job.run(volume)

    line = job.refusal()  # exit code 4, one ERROR line, no traceback, nothing collected
    assert f"report folder {main_job.report_dir}" in line, line
    assert f"{in_the_way} is a file, not a folder" in line, line
    assert "--qlab-report-dir" in line, line
    assert in_the_way.read_bytes() == b"a file where a folder was meant\n"
    assert sorted(volume.iterdir()) == [], "the volume was touched by a refused run"


@pytest.mark.needs_root
def test_read_only_report_folder_is_refused_before_measuring(
    main_job: MainJobRunner, mounts: Mounts, tmp_path: Path
) -> None:
    volume = tmp_path / "Show"
    volume.mkdir()
    main_job.report_dir = mounts.tmpfs("report-disk", "1m", read_only=True)

    job = main_job.run(volume)

    line = job.refusal()
    assert f"report folder {main_job.report_dir} is not writable" in line, line
    assert "Read-only file system" in line, line
    assert sorted(volume.iterdir()) == [], "the volume was touched by a refused run"
