"""Data integrity (optional, -m integrity): a file written with a crc32c checksum in every block
and read back from the drive. A bad cable, a failing bridge or a counterfeit drive that silently
corrupts data fails here, with the offset of the first bad block."""

from __future__ import annotations

import pytest

from pytest_qlab.core.scale import scaled_bytes
from pytest_qlab.core.session import QlabSession
from pytest_qlab.fio import FioRunner
from pytest_qlab.measure.integrity import INTEGRITY_FILE_BYTES, check_integrity
from pytest_qlab.plugin.fixtures import Measure, Record
from pytest_qlab.safety.volume import ScratchSpace, TargetVolume

pytestmark = pytest.mark.integrity


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
    result = qlab_measure(lambda: check_integrity(qlab_runner, qlab_scratch.run_dir, size_bytes))
    qlab_record(result)
    # Corrupt data endangers any show: the rating reads this and does not stay READY.
    qlab_session.volume(qlab_volume).integrity = result
    assert result.intact, result.message()
