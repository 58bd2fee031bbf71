"""The versioned `qlab` block of the JSON report, as pydantic models."""

from __future__ import annotations

from pydantic import BaseModel

from pytest_qlab.session import MetadataValue, QlabSession, VolumeRecord
from pytest_qlab.verdict import Rating

SCHEMA_VERSION = "1.0"


class RequirementReport(BaseModel):
    key: str
    level: Rating
    required_mb_s: float
    derivation: str


class VolumeReport(BaseModel):
    path: str
    requested_path: str
    name: str
    mount_point: str
    system_default: bool
    """True when no --volume was given and the system's temp folder was tested."""
    rating: Rating
    ready: bool
    interrupted: bool
    rating_reasons: list[str]
    measurements: dict[str, MetadataValue]


class QlabReport(BaseModel):
    schema_version: str = SCHEMA_VERSION
    rehearsal: bool
    time_scale: float
    required: Rating
    interrupted: bool
    interrupted_by: str | None
    fio_version: str
    requirements: list[RequirementReport]
    volumes: list[VolumeReport]


def volume_report(session: QlabSession, record: VolumeRecord) -> VolumeReport:
    decision = session.decision(record)
    target = record.target
    return VolumeReport(
        path=str(target.path),
        requested_path=target.requested,
        name=target.name,
        mount_point=str(target.mount_point),
        system_default=target.is_system_default,
        rating=decision.rating,
        ready=session.ready(record),
        interrupted=record.interrupted,
        rating_reasons=list(decision.reasons),
        measurements=dict(record.measurements),
    )


def build_report(session: QlabSession) -> QlabReport:
    return QlabReport(
        rehearsal=session.options.rehearsal,
        time_scale=session.options.time_scale,
        required=session.options.require,
        interrupted=session.interrupted_by is not None,
        interrupted_by=session.interrupted_by,
        fio_version=session.fio.version_text,
        requirements=[
            RequirementReport(
                key=item.key,
                level=item.level,
                required_mb_s=item.required_mb_s,
                derivation=item.derivation,
            )
            for item in session.requirements
        ],
        volumes=[volume_report(session, record) for record in session.volumes.values()],
    )
