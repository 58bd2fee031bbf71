"""Data integrity (optional, -m integrity): a file written with a crc32c checksum in every block
and read back from the drive. A bad cable, a failing bridge or a counterfeit drive that silently
corrupts data fails here, with the offset of the first bad block."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from pytest_qlab.core.scale import scaled_bytes
from pytest_qlab.core.session import MetadataValue, QlabSession
from pytest_qlab.fio import FioRunner
from pytest_qlab.measure.integrity import INTEGRITY_FILE_BYTES, IntegrityResult, check_integrity
from pytest_qlab.safety.volume import ScratchSpace, TargetVolume

pytestmark = pytest.mark.integrity

Record = Callable[[Mapping[str, MetadataValue]], None]
Measure = Callable[[Callable[[], Any]], Any]


def test_data_integrity(
    qlab_runner: FioRunner,
    qlab_scratch: ScratchSpace,
    qlab_session: QlabSession,
    qlab_volume: TargetVolume,
    qlab_measure: Measure,
    qlab_record: Record,
) -> None:
    """Every block read back must carry the checksum it was written with."""
    size_bytes = scaled_bytes(INTEGRITY_FILE_BYTES, qlab_session.options.time_scale)
    result: IntegrityResult = qlab_measure(
        lambda: check_integrity(qlab_runner, qlab_scratch.run_dir, size_bytes)
    )
    bad = result.bad_block
    qlab_record(
        {
            "integrity_file_bytes": result.file_bytes,
            "integrity_verified_bytes": result.verified_bytes,
            "integrity_bad_offset_bytes": None if bad is None else bad.offset_bytes,
        }
    )
    if bad is not None:
        # Corrupt data endangers any show: the verdict must not stay READY.
        qlab_session.volumes[str(qlab_volume.path)].add_finding("normal_playback", result.message())
    assert result.intact, result.message()
