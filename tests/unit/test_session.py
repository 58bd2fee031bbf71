"""The run's verdict per volume: measurements rate it, a pre-show failure caps it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_qlab.core.options import QlabOptions
from pytest_qlab.core.profiles import DEFAULT_PROFILE
from pytest_qlab.core.session import QlabSession, VolumeRecord
from pytest_qlab.core.verdict import Rating
from pytest_qlab.drive.advisories import Advisory
from pytest_qlab.fio.runner import FioBinary
from pytest_qlab.safety.volume import TargetVolume


@pytest.fixture
def session(tmp_path: Path) -> QlabSession:
    options = QlabOptions(
        volumes=(str(tmp_path),),
        profile="default",
        fio=None,
        time_scale=1.0,
        require=Rating.ACCEPTABLE,
        report_dir=tmp_path,
        keep_files=False,
    )
    target = TargetVolume(tmp_path, str(tmp_path), Path("/"), is_system_default=False)
    fio = FioBinary(Path("/usr/bin/fio"), (3, 33), "fio-3.33")
    return QlabSession(options=options, targets=(target,), fio=fio, profile=DEFAULT_PROFILE)


def _acceptable_measurements(record: VolumeRecord) -> None:
    record.measurements.update(
        {
            "read_mb_s": 900.0,
            "normal_playback_dropped_frames": 0,
            "max_streams": 4,
            "max_streams_needed": 1,
        }
    )


def _advisory(severity: str) -> Advisory:
    return Advisory.model_validate(
        {"name": "smart", "title": "SMART health", "severity": severity, "message": "checked"}
    )


def test_measurements_alone_decide_when_no_advisory_failed(session: QlabSession) -> None:
    (record,) = session.volumes.values()
    _acceptable_measurements(record)
    record.advisories = [_advisory("ok"), _advisory("warn"), _advisory("skip")]

    assert session.decision(record).rating is Rating.ACCEPTABLE
    assert session.ready(record)


def test_a_failed_advisory_caps_the_rating_and_says_why(session: QlabSession) -> None:
    (record,) = session.volumes.values()
    _acceptable_measurements(record)
    record.advisories = [_advisory("fail")]

    decision = session.decision(record)

    assert decision.rating is Rating.INSUFFICIENT
    assert decision.reasons[-1] == "SMART health: checked"
    assert not session.ready(record)
    assert not session.all_ready


def test_a_failed_measurement_caps_the_rating_and_says_why(session: QlabSession) -> None:
    (record,) = session.volumes.values()
    _acceptable_measurements(record)
    record.errors.append("fio was killed by SIGKILL before it finished")

    decision = session.decision(record)

    assert decision.rating is Rating.INSUFFICIENT
    assert decision.reasons[-1] == (
        "a measurement failed: fio was killed by SIGKILL before it finished"
    )
    assert not session.ready(record)
