"""Measurements called directly on recorded fio output, where a mode would hide the case: a
layout fio cut short, the integrity check intact and on a corrupted block, and the read probe's
choice. No fio runs here."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_qlab.core.units import BYTES_PER_MIB
from pytest_qlab.measure.bandwidth import lay_out
from pytest_qlab.measure.integrity import INTEGRITY_FILE, check_integrity
from pytest_qlab.measure.probe import CANDIDATES, probe_read_config
from pytest_qlab.safety.volume import VolumeError
from tests.helpers import scenarios
from tests.helpers.fake_fio import FakeFioRunner, recording


def test_a_layout_that_wrote_less_than_asked_is_refused(tmp_path: Path) -> None:
    """fio wrote the 163 MiB it was recorded writing; a 256 MiB file was asked for."""
    runner = FakeFioRunner(tmp_path, answers={"layout": recording("sustained", "layout")})

    with pytest.raises(VolumeError, match=r"wrote 170917888 of 268435456 bytes"):
        lay_out(runner, tmp_path, [("sustained-read.bin", 256 * BYTES_PER_MIB)])


def test_an_intact_drive_reads_back_every_block(tmp_path: Path) -> None:
    runner = FakeFioRunner(tmp_path, "integrity")

    result = check_integrity(runner, tmp_path, scenarios.INTEGRITY_FILE_BYTES)

    assert runner.labels == ["integrity-write", "integrity-verify"]
    write, verify = (call.jobs[0] for call in runner.calls)
    assert (write.rw, write.verify, write.do_verify, write.end_fsync) == (
        "write",
        "crc32c",
        False,
        True,
    )
    assert (verify.rw, verify.verify, verify.do_verify) == ("read", "crc32c", True)
    assert verify.filename == INTEGRITY_FILE
    assert result.intact
    assert result.verified_bytes == scenarios.INTEGRITY_FILE_BYTES


def test_a_corrupted_block_is_a_result_naming_its_offset(tmp_path: Path) -> None:
    """fio's verify failed (errno 84, exit code 1): the check reports it, it does not raise."""
    runner = FakeFioRunner(tmp_path, "integrity-corrupt")

    result = check_integrity(runner, tmp_path, scenarios.INTEGRITY_FILE_BYTES)

    assert not result.intact
    assert result.bad_block is not None
    assert (result.bad_block.file_name, result.bad_block.offset_bytes) == (
        INTEGRITY_FILE,
        5 * BYTES_PER_MIB,
    )
    assert result.bad_block.length_bytes == BYTES_PER_MIB
    assert result.bad_block.detail.startswith("crc32c: verify failed at file integrity.bin")
    assert "first bad block at offset 5242880" in result.message()


def test_the_read_probe_tries_every_candidate_and_picks_the_fastest(tmp_path: Path) -> None:
    runner = FakeFioRunner(tmp_path, "sustained")

    result = probe_read_config(runner, tmp_path, "sustained-read.bin", 163 * BYTES_PER_MIB, 1.0)

    assert [config for config, _ in result.figures] == list(CANDIDATES)
    fastest = max(mb_s for _, mb_s in result.figures)
    assert dict(result.figures)[result.best] == fastest
    assert [round(mb_s) for _, mb_s in result.figures] == [683, 718, 928, 820, 1292, 1047]
