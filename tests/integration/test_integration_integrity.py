"""The data integrity check with real fio: a clean file passes, a file corrupted on the drive
between the write and the read-back fails naming the offset of the first bad block, and the
optional suite runs only when chosen."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_qlab.fio import locate_fio
from pytest_qlab.fio.runner import FioRunner
from pytest_qlab.measure.integrity import INTEGRITY_FILE, verify_pass, write_pass

if TYPE_CHECKING:
    from tests.integration.conftest import MainJobRunner

pytestmark = pytest.mark.integration

SIZE_BYTES = 16 * 1024 * 1024
BLOCK_BYTES = 1024 * 1024


@pytest.fixture
def runner(tmp_path: Path) -> FioRunner:
    return FioRunner(locate_fio(), tmp_path / "control")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "scratch"
    folder.mkdir()
    return folder


def test_clean_file_reads_back_intact(runner: FioRunner, data_dir: Path) -> None:
    write_pass(runner, data_dir, SIZE_BYTES)
    result = verify_pass(runner, data_dir, SIZE_BYTES)

    assert result.intact, result.message()
    assert result.verified_bytes == SIZE_BYTES
    assert "without a bad block" in result.message()


@pytest.mark.parametrize("block", [0, 5, 15])
def test_corruption_between_write_and_read_back_names_the_first_bad_block(
    runner: FioRunner, data_dir: Path, block: int
) -> None:
    write_pass(runner, data_dir, SIZE_BYTES)
    corrupt_at = block * BLOCK_BYTES + 4096 + 123  # inside the block, past fio's header
    fd = os.open(data_dir / INTEGRITY_FILE, os.O_WRONLY)
    try:
        os.pwrite(fd, b"\xde\xad\xbe\xef", corrupt_at)
        os.fsync(fd)
    finally:
        os.close(fd)

    result = verify_pass(runner, data_dir, SIZE_BYTES)

    assert not result.intact
    assert result.bad_block is not None
    assert result.bad_block.offset_bytes == block * BLOCK_BYTES
    assert result.bad_block.file_name == INTEGRITY_FILE
    message = result.message()
    assert f"first bad block at offset {block * BLOCK_BYTES} " in message
    assert "do not play a show from it" in message


def test_integrity_suite_runs_only_when_chosen_and_passes(
    tmp_path: Path, main_job: MainJobRunner
) -> None:
    """Alone it passes; the run still exits 1 because nothing rated the volume (no read)."""
    volume = tmp_path / "Show"
    volume.mkdir()

    default = main_job.run(volume, "--collect-only", "-q")
    chosen = main_job.run(volume, "-m", "integrity")

    assert "test_integrity.py" not in default.stdout, "the optional check joined a default run"
    assert "Traceback" not in chosen.output, chosen.output
    outcomes = chosen.outcomes()
    assert list(outcomes.values()) == ["passed"], chosen.output
    assert next(iter(outcomes)).startswith("test_data_integrity[")
    assert not any(volume.iterdir()), "scratch folder left behind"
