"""Setup check (~30 s at full scale): can this volume play the show's normal set and its
crossfade peaks? Each requirement is its own test item, so a report names exactly what failed."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from pytest_qlab.bandwidth import BandwidthResult
from pytest_qlab.session import MetadataValue
from pytest_qlab.verdict import BandwidthCheck, Rating, Requirement

pytestmark = pytest.mark.setup_check

Record = Callable[[Mapping[str, MetadataValue]], None]


def test_sequential_write(qlab_sequential_write: BandwidthResult, qlab_record: Record) -> None:
    """Media is copied onto show drives on tour: write speed is measured and reported; it
    decides the verdict only where a show profile sets a write requirement."""
    result = qlab_sequential_write
    qlab_record(result.metadata())
    assert result.io_bytes > 0, "the sequential write moved no data: the volume accepted no writes"
    assert result.ran_full_time, result.early_stop_message()


@pytest.mark.parametrize("level", [Rating.ACCEPTABLE, Rating.EXCELLENT], ids=str)
def test_sequential_read(
    level: Rating,
    qlab_sequential_read: BandwidthResult,
    qlab_requirement: Callable[[Rating], Requirement],
    qlab_assert_bandwidth: Callable[[BandwidthCheck], None],
    qlab_record: Record,
) -> None:
    """Playback is reading: sustained sequential read must carry the level's streams."""
    requirement = qlab_requirement(level)
    check = BandwidthCheck("sequential read", requirement, qlab_sequential_read.mb_s)
    qlab_record(
        {
            **qlab_sequential_read.metadata(),
            "required_mb_s": requirement.required_mb_s,
            "shortfall_mb_s": round(check.shortfall_mb_s, 3),
            "requirement": requirement.derivation,
        }
    )
    assert qlab_sequential_read.ran_full_time, qlab_sequential_read.early_stop_message()
    qlab_assert_bandwidth(check)
