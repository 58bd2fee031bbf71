"""The volume's state explains a failed measurement: gone, read-only, full, I/O error, no direct
I/O; otherwise the failure's own message stands."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from pytest_qlab.fio import FioError
from pytest_qlab.safety.faults import explain_failure
from pytest_qlab.safety.volume import ScratchSpace, VolumeError, resolve_target


@pytest.fixture
def scratch(tmp_path: Path) -> ScratchSpace:
    volume = tmp_path / "Show"
    volume.mkdir()
    return ScratchSpace(resolve_target(str(volume)), "20260101-120000-1-abcd").create()


def test_a_vanished_run_folder_means_the_volume_disappeared(scratch: ScratchSpace) -> None:
    scratch.remove()
    error = FioError("could not start fio /usr/bin/fio: [Errno 2] No such file or directory")

    message = explain_failure(error, scratch)

    assert message.startswith(f"the volume {scratch.volume.path} disappeared during the run")
    assert "reconnect it and run again" in message
    assert "(could not start fio" in message.splitlines()[1]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (errno.ENOSPC, "ran out of space during the run"),
        (errno.EIO, "reported an I/O error"),
    ],
)
def test_errno_of_a_failed_job_is_explained(
    scratch: ScratchSpace, code: int, expected: str
) -> None:
    message = explain_failure(FioError("fio job 'layout-01' failed", errno=code), scratch)

    assert expected in message.splitlines()[0]
    assert "fio job 'layout-01' failed" in message


def test_no_direct_io_is_explained(scratch: ScratchSpace) -> None:
    error = FioError(
        "fio job 'x' failed",
        errno=errno.EINVAL,
        diagnostics=("fio: looks like your file system does not support direct=1/buffered=0",),
    )

    assert "does not support direct I/O" in explain_failure(error, scratch)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through a read-only mode")
def test_a_run_folder_that_refuses_writes_is_not_mistaken_for_read_only(
    scratch: ScratchSpace,
) -> None:
    """Only EROFS means a read-only volume; a permission problem keeps fio's own message."""
    scratch.run_dir.chmod(0o500)
    try:
        message = explain_failure(FioError("fio reported a failure"), scratch)
    finally:
        scratch.run_dir.chmod(0o700)
    assert message == "fio reported a failure"


def test_other_failures_keep_their_message(scratch: ScratchSpace) -> None:
    assert explain_failure(FioError("fio reported a failure"), scratch) == (
        "fio reported a failure"
    )
    assert explain_failure(VolumeError("no"), None) == "no"
    assert not list(scratch.run_dir.glob(".write-probe")), "the write probe was left behind"
