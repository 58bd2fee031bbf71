"""Setup check (~30 s at full scale): can this volume play the show's normal set and its
crossfade peaks? Each requirement is its own test item, so a report names exactly what failed."""

from __future__ import annotations

import pytest

from pytest_qlab.core.verdict import BandwidthCheck, Judged, Rating
from pytest_qlab.drive.advisories import ADVISORY_NAMES, Advisory
from pytest_qlab.history.compare import HISTORY_ADVISORY
from pytest_qlab.measure.replay import ReplayResult
from pytest_qlab.modes.media import MediaCheck
from pytest_qlab.modes.setup_check import SetupCheck
from pytest_qlab.plugin.fixtures import Gate, Measure, Record, Requirements

pytestmark = pytest.mark.setup_check


@pytest.mark.parametrize("name", [*ADVISORY_NAMES, HISTORY_ADVISORY])
def test_preshow_advisory(
    name: str,
    qlab_advisories: dict[str, Advisory],
    request: pytest.FixtureRequest,
    qlab_record: Record,
) -> None:
    """QLab's own advice for show machines, checked on this volume: fails only where the
    condition endangers playback (SMART failing, drive too hot, volume full); a warning passes
    and is listed under the verdict; what this platform cannot check is skipped with why. The
    drive history's (slower than the drive's best) runs after the read it compares, and only
    ever warns."""
    if name == HISTORY_ADVISORY:
        advisory: Advisory = request.getfixturevalue("qlab_history_advisory")
    else:
        advisory = qlab_advisories[name]
    qlab_record(advisory)
    if advisory.severity == "skip":
        pytest.skip(f"{advisory.title}: {advisory.message}")
    assert advisory.severity != "fail", f"{advisory.title}: {advisory.message}"


def test_sequential_write(
    qlab_setup_check: SetupCheck, qlab_measure: Measure, qlab_record: Record
) -> None:
    """Media is copied onto show drives on tour: write speed is measured and reported; it
    decides the verdict only where a show profile sets a write requirement."""
    result = qlab_measure(qlab_setup_check.sequential_write)
    qlab_record(result)
    assert result.io_bytes > 0, "the sequential write moved no data: the volume accepted no writes"
    assert result.ran_full_time, result.early_stop_message()


@pytest.mark.parametrize("level", [Rating.ACCEPTABLE, Rating.EXCELLENT], ids=str)
def test_sequential_read(
    level: Rating,
    qlab_setup_check: SetupCheck,
    qlab_measure: Measure,
    qlab_requirement: Requirements,
    qlab_gate: Gate,
    qlab_record: Record,
) -> None:
    """Playback is reading: sustained sequential read must carry the level's streams."""
    result = qlab_measure(qlab_setup_check.sequential_read)
    check = BandwidthCheck("sequential read", qlab_requirement(level), result.mb_s)
    qlab_record(Judged(result, check))
    assert result.ran_full_time, result.early_stop_message()
    qlab_gate(level, check.met, check.message())


def _replay_verdict(
    what: str, result: ReplayResult, level: Rating, gate: Gate, record: Record
) -> None:
    record(result)
    assert result.frames_read > 0, f"the {what} read no frame at all"
    failures = result.failures()
    message = f"{what}: {result.dropped} dropped frames ({level.label} needs none)\n" + "\n".join(
        failures
    )
    gate(level, not failures, message)


def test_normal_playback(
    qlab_setup_check: SetupCheck, qlab_measure: Measure, qlab_gate: Gate, qlab_record: Record
) -> None:
    """Every frame of every stream of the normal set arrives before it is due."""
    result = qlab_measure(qlab_setup_check.normal_replay)
    _replay_verdict("normal playback replay", result, Rating.ACCEPTABLE, qlab_gate, qlab_record)


def test_crossfade_playback(
    qlab_setup_check: SetupCheck, qlab_measure: Measure, qlab_gate: Gate, qlab_record: Record
) -> None:
    """During a crossfade two cue sets play at once; Excellent needs that without a drop."""
    result = qlab_measure(qlab_setup_check.crossfade_replay)
    _replay_verdict("crossfade replay", result, Rating.EXCELLENT, qlab_gate, qlab_record)


def test_media_playback(
    qlab_media: MediaCheck, qlab_measure: Measure, qlab_gate: Gate, qlab_record: Record
) -> None:
    """The show's own files, played together from the drive read-only, as QLab reads them:
    every frame of every file before it is due."""
    result = qlab_measure(qlab_media.playback)
    qlab_record(result)
    assert result.frames_read > 0, "the media replay read no frame at all"
    message = f"media playback: {result.dropped} dropped frames (Acceptable needs none)\n"
    qlab_gate(Rating.ACCEPTABLE, not result.dropped, message + "\n".join(result.failures()))


def test_media_crossfade(
    qlab_media: MediaCheck, qlab_measure: Measure, qlab_gate: Gate, qlab_record: Record
) -> None:
    """A crossfade of the show: the files play on while each starts again mid-file; Excellent
    needs that without a drop."""
    result = qlab_measure(qlab_media.crossfade)
    qlab_record(result)
    assert result.frames_read > 0, "the media crossfade read no frame at all"
    message = f"media crossfade: {result.dropped} dropped frames (Excellent needs none)\n"
    qlab_gate(Rating.EXCELLENT, not result.dropped, message + "\n".join(result.failures()))


@pytest.mark.capacity
def test_max_stream_count(
    qlab_setup_check: SetupCheck, qlab_measure: Measure, qlab_gate: Gate, qlab_record: Record
) -> None:
    """How many of the show's heaviest streams the drive plays at once without a drop; it must
    at least play as many as the show's normal set does."""
    result = qlab_measure(qlab_setup_check.capacity)
    qlab_record(result)
    message = f"{result.summary()}; the show plays {result.needed_streams} at once"
    qlab_gate(Rating.ACCEPTABLE, result.enough, message)
