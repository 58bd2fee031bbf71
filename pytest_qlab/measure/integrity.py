"""Data integrity: write a file with a crc32c checksum in every block, then read it back from the
drive in a second fio run, so a bad cable, a failing bridge or a counterfeit drive that silently
corrupts data is caught, with the offset of the first bad block. Usable without pytest."""

from __future__ import annotations

import errno
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import JsonValue

from pytest_qlab.core.rows import ReportRow
from pytest_qlab.core.units import BYTES_PER_GIB, BYTES_PER_MIB, format_bytes
from pytest_qlab.fio import FioError, FioJob, FioJobFile, FioRunner

INTEGRITY_FILE_BYTES = 4 * BYTES_PER_GIB
"""At full scale: more than a drive's DRAM cache, so the read-back comes from the flash."""
INTEGRITY_BLOCK_BYTES = BYTES_PER_MIB
INTEGRITY_FILE = "integrity.bin"
_VERIFY_FAILED = re.compile(
    r"(?P<kind>\w+): verify failed at file (?P<file>.+?) offset (?P<offset>\d+), "
    r"length (?P<length>\d+)"
)
_BAD_HEADER = re.compile(
    r"verify: bad magic header \w+, wanted \w+ at file (?P<file>.+?) offset (?P<offset>\d+), "
    r"length (?P<length>\d+)"
)


@dataclass(frozen=True)
class BadBlock:
    file_name: str
    offset_bytes: int
    length_bytes: int
    detail: str
    """fio's own line, e.g. "crc32c: verify failed at ..."."""


@dataclass(frozen=True)
class IntegrityResult:
    file_bytes: int
    verified_bytes: int
    bad_block: BadBlock | None

    @property
    def intact(self) -> bool:
        return self.bad_block is None

    def metadata(self) -> dict[str, JsonValue]:
        bad = self.bad_block
        return {
            "integrity_file_bytes": self.file_bytes,
            "integrity_verified_bytes": self.verified_bytes,
            "integrity_bad_offset_bytes": None if bad is None else bad.offset_bytes,
        }

    def report_row(self) -> ReportRow:
        if self.bad_block is None:
            return ReportRow(
                f"{format_bytes(self.verified_bytes)} read back intact", "no bad block"
            )
        return ReportRow(f"bad block at offset {self.bad_block.offset_bytes}", "no bad block")

    def message(self) -> str:
        if self.bad_block is None:
            return f"{format_bytes(self.file_bytes)} written and read back without a bad block"
        bad = self.bad_block
        return (
            f"data read back differs from what was written: first bad block at offset "
            f"{bad.offset_bytes} ({format_bytes(bad.offset_bytes)}) of {bad.file_name}, "
            f"{bad.length_bytes} bytes; the drive, its cable or its enclosure corrupts data: "
            "do not play a show from it; try another cable and port, then replace the drive"
        )


def first_bad_block(lines: Iterable[str]) -> BadBlock | None:
    """The first block fio's verify complained about, from its diagnostic lines."""
    for line in lines:
        match = _VERIFY_FAILED.search(line) or _BAD_HEADER.search(line)
        if match:
            return BadBlock(match["file"], int(match["offset"]), int(match["length"]), line.strip())
    return None


def integrity_job(directory: Path, size_bytes: int, *, write: bool) -> FioJobFile:
    """The write pass stores checksums without reading back (do_verify=0): the read pass is a
    separate fio run with direct I/O, so the data comes from the drive, not from fio's memory."""
    return FioJobFile(
        directory=directory,
        jobs=(
            FioJob(
                name="integrity-write" if write else "integrity-verify",
                filename=INTEGRITY_FILE,
                rw="write" if write else "read",
                block_size_bytes=INTEGRITY_BLOCK_BYTES,
                size_bytes=size_bytes,
                iodepth=8,
                end_fsync=write,
                verify="crc32c",
                do_verify=not write,
            ),
        ),
    )


def write_pass(runner: FioRunner, directory: Path, size_bytes: int) -> None:
    runner.run(integrity_job(directory, size_bytes, write=True), label="integrity-write")


def verify_pass(runner: FioRunner, directory: Path, size_bytes: int) -> IntegrityResult:
    """Read the file back; a checksum mismatch is a result (the drive failed), not an error."""
    try:
        run = runner.run(
            integrity_job(directory, size_bytes, write=False), label="integrity-verify"
        )
    except FioError as exc:
        bad = first_bad_block(exc.diagnostics)
        if bad is None and exc.errno != errno.EILSEQ:
            raise
        verified = exc.result.read_bytes if exc.result is not None else 0
        if bad is None:
            bad = BadBlock(INTEGRITY_FILE, verified, 0, str(exc).splitlines()[0])
        return IntegrityResult(size_bytes, verified, bad)
    return IntegrityResult(size_bytes, run.result.read_bytes, None)


def check_integrity(runner: FioRunner, directory: Path, size_bytes: int) -> IntegrityResult:
    write_pass(runner, directory, size_bytes)
    return verify_pass(runner, directory, size_bytes)
