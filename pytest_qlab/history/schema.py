"""The history's tables (SQLAlchemy Core) and their migrations, versioned in a table of their
own: `qlab_schema` holds the version, and each migration moves the store one version on inside
the transaction that holds the store's write lock, so two runs starting at once migrate it once.
Not Alembic: the migrations run on a technician's machine at the end of a qualification, so they
ship as plain package code (no migration folder or env.py to find), are one transaction on SQLite
and PostgreSQL alike, and are tested from version 1 in a unit test.

Version 1: drives and runs (each run's figures, its measurements and its JSON report as JSON).
Version 2: `qlab_figures`, every numeric measurement of a run as a row, so a shared inventory
can be queried in SQL; filled from the runs already stored."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    inspect,
    select,
)

from pytest_qlab.history.errors import HistoryError

metadata = MetaData()

schema_table = Table("qlab_schema", metadata, Column("version", Integer, nullable=False))

drives = Table(
    "qlab_drives",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("drive_key", String(400), nullable=False, unique=True),
    Column("key_kind", String(20), nullable=False),
    Column("serial", String(200)),
    Column("model", String(200)),
    Column("volume_uuid", String(100)),
)

runs = Table(
    "qlab_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("drive_id", Integer, ForeignKey("qlab_drives.id"), nullable=False, index=True),
    # ISO 8601 in UTC ("2026-11-20T21:04:05Z"): sorts as text on every backend.
    Column("date_utc", String(32), nullable=False),
    Column("host", String(255), nullable=False),
    Column("volume_name", String(255), nullable=False),
    Column("volume_path", Text, nullable=False),
    Column("qlab_version", String(40), nullable=False),
    Column("fio_version", String(80), nullable=False),
    Column("profile", String(255), nullable=False),
    Column("time_scale", Float, nullable=False),
    Column("rehearsal", Boolean, nullable=False),
    Column("interrupted", Boolean, nullable=False),
    Column("rating", String(20), nullable=False),
    Column("ready", Boolean, nullable=False),
    Column("read_mb_s", Float),
    Column("max_streams", Integer),
    Column("dropped_frames", Integer),
    Column("throttled", Boolean),
    Column("measurements", Text, nullable=False),
    Column("report", Text, nullable=False),
)

figures = Table(
    "qlab_figures",
    metadata,
    Column("run_id", Integer, ForeignKey("qlab_runs.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("value", Float, nullable=False),
)


def numeric_figures(measurements: dict[str, object]) -> list[tuple[str, float]]:
    """The measurements that are numbers (booleans and text are kept in the JSON only)."""
    return [
        (name, float(value))
        for name, value in measurements.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]


def _version_1(connection: Connection) -> None:
    metadata.create_all(connection, tables=[schema_table, drives, runs])
    connection.execute(insert(schema_table).values(version=0))


def _version_2(connection: Connection) -> None:
    figures.create(connection)
    rows = connection.execute(select(runs.c.id, runs.c.measurements)).all()
    values = [
        {"run_id": run_id, "name": name, "value": value}
        for run_id, text in rows
        for name, value in numeric_figures(json.loads(text))
    ]
    if values:
        connection.execute(insert(figures), values)


MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_version_1, _version_2)
LATEST = len(MIGRATIONS)


def stored_version(connection: Connection) -> int:
    """0 for an empty database."""
    if not inspect(connection).has_table(schema_table.name):
        return 0
    return int(connection.execute(select(schema_table.c.version)).scalar_one())


def migrate(connection: Connection, label: str, up_to: int = LATEST) -> int:
    """Bring the store to version `up_to` inside the caller's transaction; returns the version
    found. A store newer than this pytest-qlab is left alone."""
    found = stored_version(connection)
    if found > LATEST:
        raise HistoryError(
            f"history {label} has schema version {found}, newer than this pytest-qlab's "
            f"{LATEST}: update pytest-qlab on this machine, or pass --qlab-history FILE|off"
        )
    for version in range(found, up_to):
        MIGRATIONS[version](connection)
        connection.execute(schema_table.update().values(version=version + 1))
    return found
