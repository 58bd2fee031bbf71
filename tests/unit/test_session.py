"""The run's verdict per volume, decided once into the report model: measurements rate it, a
pre-show failure or a failed measurement caps it, an interruption never qualifies."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_qlab.core.evidence import VolumeRecord
from pytest_qlab.core.session import QlabSession
from pytest_qlab.core.verdict import Rating, RequirementKey
from pytest_qlab.drive.advisories import Advisory
from pytest_qlab.report.model import build_report
from tests.helpers.evidence import capacity, replay_result, sequential, session_on


@pytest.fixture
def session(tmp_path: Path) -> QlabSession:
    return session_on(tmp_path)


def _acceptable_measurements(record: VolumeRecord) -> None:
    record.sequential_read = sequential("read", 900.0)
    record.replays[RequirementKey.NORMAL_PLAYBACK] = replay_result(late_frames=0)
    record.capacity = capacity(max_streams=16, needed_streams=1)


def _advisory(severity: str) -> Advisory:
    return Advisory.model_validate(
        {"name": "smart", "title": "SMART health", "severity": severity, "message": "checked"}
    )


def test_measurements_alone_decide_when_no_advisory_failed(session: QlabSession) -> None:
    (record,) = session.volumes.values()
    _acceptable_measurements(record)
    record.advisories = [_advisory("ok"), _advisory("warn"), _advisory("skip")]

    (volume,) = build_report(session).volumes

    assert volume.rating is Rating.ACCEPTABLE
    assert volume.ready


def test_a_failed_advisory_caps_the_rating_and_says_why(session: QlabSession) -> None:
    (record,) = session.volumes.values()
    _acceptable_measurements(record)
    record.advisories = [_advisory("fail")]

    report = build_report(session)

    (volume,) = report.volumes
    assert volume.rating is Rating.INSUFFICIENT
    assert volume.rating_reasons[-1] == "SMART health: checked"
    assert not volume.ready
    assert not report.all_ready


def test_a_failed_measurement_caps_the_rating_and_says_why(session: QlabSession) -> None:
    (record,) = session.volumes.values()
    _acceptable_measurements(record)
    record.errors.append("fio was killed by SIGKILL before it finished")

    (volume,) = build_report(session).volumes

    assert volume.rating is Rating.INSUFFICIENT
    assert volume.rating_reasons[-1] == (
        "a measurement failed: fio was killed by SIGKILL before it finished"
    )
    assert not volume.ready


def test_an_interrupted_run_is_rated_but_never_ready(session: QlabSession) -> None:
    (record,) = session.volumes.values()
    _acceptable_measurements(record)
    record.sequential_read = sequential("read", 3000.0)  # enough for Excellent too
    record.capacity = None  # a search that played fewer streams would lower the read
    session.interrupted_by = "SIGINT"  # before the crossfade replay

    report = build_report(session)

    (volume,) = report.volumes
    assert volume.rating is Rating.ACCEPTABLE, "what was measured still rates"
    assert not volume.ready
    assert report.interrupted_by == "SIGINT"
    # First among the reasons, which may all read as met: why it is NOT READY anyway.
    assert volume.rating_reasons[0] == (
        "not ready: the run was interrupted by SIGINT before it finished, and an interrupted "
        "run never qualifies a drive; run it again to its end"
    )
    assert volume.rating_reasons[-1] == (
        "Excellent NOT RATED: nothing measured crossfades played frame by frame; the run was "
        "interrupted before test_crossfade_playback finished: run it again to its end"
    )


def test_an_uninterrupted_run_has_no_interruption_reason(session: QlabSession) -> None:
    (record,) = session.volumes.values()
    _acceptable_measurements(record)

    (volume,) = build_report(session).volumes

    assert not any("interrupted" in reason for reason in volume.rating_reasons)


def test_the_json_measurements_are_derived_from_the_typed_results(session: QlabSession) -> None:
    (record,) = session.volumes.values()
    _acceptable_measurements(record)
    record.sequential_write = sequential("write", 321.5)

    (volume,) = build_report(session).volumes

    assert volume.measurements["read_mb_s"] == 900.0
    assert volume.measurements["write_mb_s"] == 321.5
    assert volume.measurements["normal_playback_dropped_frames"] == 0
    assert volume.measurements["max_streams"] == 16
    assert volume.measurements["max_streams_needed"] == 1
    assert "crossfade_peak_dropped_frames" not in volume.measurements, "not measured"


def test_the_verdict_is_decided_once_and_renderers_read_the_model(session: QlabSession) -> None:
    """Changing the evidence after the decision does not change the decided report."""
    (record,) = session.volumes.values()
    _acceptable_measurements(record)
    report = build_report(session)

    record.sequential_read = sequential("read", 10.0)

    assert report.volumes[0].rating is Rating.ACCEPTABLE
    assert build_report(session).volumes[0].rating is Rating.INSUFFICIENT
