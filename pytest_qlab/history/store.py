"""The history store: open (check, migrate), add a run, read a drive's runs back. Every write is
one transaction that holds the store's write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: an
advisory lock), so concurrent runs on one machine or many stations each store their run whole."""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, func, insert, or_, select, text
from sqlalchemy.exc import NoSuchModuleError, SQLAlchemyError

from pytest_qlab.history import schema, sqlite
from pytest_qlab.history.errors import HistoryError
from pytest_qlab.history.location import StoreLocation
from pytest_qlab.history.model import DriveSummary, NewRun, RunFigures, StoredRun
from pytest_qlab.history.schema import drives, figures, runs

CONNECT_TIMEOUT_S = 5
WRITE_LOCK_ID = 0x716C6162
"""PostgreSQL advisory lock ("qlab") that serialises migrations and drive creation."""


class HistoryStore:
    """One open store; use as a context manager so its connections are released."""

    def __init__(self, location: StoreLocation) -> None:
        self.location = location
        self.engine = self._engine()
        try:
            sqlite.retry_while_busy(self._migrate)
        except HistoryError:
            self.close()
            raise
        except (SQLAlchemyError, OSError) as exc:
            self.close()
            raise self._explain(exc) from None

    def _migrate(self) -> None:
        with self.engine.begin() as connection:
            self._lock(connection)
            schema.migrate(connection, self.location.label)

    def _engine(self) -> Engine:
        path = self.location.sqlite_path
        if path is not None:
            sqlite.check_file(path)
            return sqlite.sqlite_engine(path)
        connect_args: dict[str, Any] = {}
        if self.location.url.get_backend_name() == "postgresql":
            connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
        try:
            return create_engine(self.location.url, connect_args=connect_args)
        except (NoSuchModuleError, ImportError) as exc:
            raise HistoryError(
                f"history {self.location.label}: no driver for this database ({exc}): "
                "use postgresql+psycopg://..., a file path, or off"
            ) from None

    def _explain(self, exc: BaseException) -> HistoryError:
        path = self.location.sqlite_path
        if path is not None:
            return sqlite.explain(path, exc)
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        if "No space left" in reason or "disk full" in reason:
            return sqlite.full(self.location.label)
        return HistoryError(
            f"history {self.location.label} cannot be used ({reason}): this run was not stored; "
            "check the server, the URL and the network, or pass --qlab-history off"
        )

    def _lock(self, connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": WRITE_LOCK_ID})

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- writing ---------------------------------------------------------------------------

    def add(self, new: NewRun) -> int:
        """Store one run; returns its id."""
        try:
            return sqlite.retry_while_busy(lambda: self._insert(new))
        except (SQLAlchemyError, OSError) as exc:
            raise self._explain(exc) from None

    def _insert(self, new: NewRun) -> int:
        with self.engine.begin() as connection:
            self._lock(connection)
            drive_id = self._drive_id(connection, new)
            row = {**_figure_values(new.figures), "drive_id": drive_id}
            row["measurements"] = json.dumps(new.measurements, sort_keys=True)
            row["report"] = json.dumps(new.report, sort_keys=True)
            key = connection.execute(insert(runs).values(row)).inserted_primary_key
            assert key is not None
            run_id = int(key[0])
            values = [
                {"run_id": run_id, "name": name, "value": value}
                for name, value in schema.numeric_figures(new.measurements)
            ]
            if values:
                connection.execute(insert(figures), values)
            return run_id

    def _drive_id(self, connection: Connection, new: NewRun) -> int:
        key = new.drive
        found = connection.execute(
            select(drives.c.id).where(drives.c.drive_key == key.key)
        ).scalar_one_or_none()
        if found is not None:
            return int(found)
        inserted = connection.execute(
            insert(drives).values(
                drive_key=key.key,
                key_kind=key.kind,
                serial=key.serial,
                model=key.model,
                volume_uuid=key.volume_uuid,
            )
        )
        key_row = inserted.inserted_primary_key
        assert key_row is not None
        return int(key_row[0])

    # --- reading ---------------------------------------------------------------------------

    def runs_of(self, drive_key: str) -> list[StoredRun]:
        """The drive's runs, oldest first."""
        return self._select(drives.c.drive_key == drive_key)

    def find_runs(self, drive: str) -> list[StoredRun]:
        """Runs of the drive(s) a user names: by serial, volume UUID or key."""
        lowered = drive.lower()
        return self._select(
            or_(
                drives.c.serial == drive,
                func.lower(drives.c.volume_uuid) == lowered,
                drives.c.drive_key == drive,
            )
        )

    def all_runs(self) -> list[StoredRun]:
        return self._select(None)

    def _select(self, where: Any) -> list[StoredRun]:
        query = (
            select(runs, drives.c.drive_key, drives.c.key_kind, drives.c.serial, drives.c.model)
            .join(drives, runs.c.drive_id == drives.c.id)
            .order_by(runs.c.date_utc, runs.c.id)
        )
        if where is not None:
            query = query.where(where)
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(query).mappings().all()
        except (SQLAlchemyError, OSError) as exc:
            raise self._explain(exc) from None
        return [_stored(row) for row in rows]

    def drives(self) -> list[DriveSummary]:
        query = (
            select(
                drives.c.drive_key,
                drives.c.key_kind,
                drives.c.serial,
                drives.c.model,
                func.count(runs.c.id),
                func.max(runs.c.date_utc),
            )
            .join(runs, runs.c.drive_id == drives.c.id)
            .group_by(drives.c.id)
            .order_by(func.max(runs.c.date_utc).desc())
        )
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(query).all()
        except (SQLAlchemyError, OSError) as exc:
            raise self._explain(exc) from None
        return [DriveSummary(k, kind, s, m, int(n), str(last)) for k, kind, s, m, n, last in rows]

    def report_of(self, run_id: int) -> tuple[StoredRun, dict[str, Any]]:
        """A stored run and the JSON report it wrote."""
        found = self._select(runs.c.id == run_id)
        if not found:
            raise HistoryError(f"history {self.location.label} has no run {run_id}")
        try:
            with self.engine.connect() as connection:
                document = connection.execute(
                    select(runs.c.report).where(runs.c.id == run_id)
                ).scalar_one()
        except (SQLAlchemyError, OSError) as exc:
            raise self._explain(exc) from None
        loaded: dict[str, Any] = json.loads(document)
        return found[0], loaded


_FIGURE_COLUMNS = (
    "date_utc",
    "host",
    "volume_name",
    "volume_path",
    "qlab_version",
    "fio_version",
    "profile",
    "time_scale",
    "interrupted",
    "rating",
    "ready",
    "read_mb_s",
    "max_streams",
    "dropped_frames",
    "throttled",
)


def _figure_values(figures_: RunFigures) -> dict[str, Any]:
    values = {name: getattr(figures_, name) for name in _FIGURE_COLUMNS}
    values["rehearsal"] = figures_.rehearsal
    return values


def _stored(row: Any) -> StoredRun:
    return StoredRun(
        run_id=int(row["id"]),
        drive_key=str(row["drive_key"]),
        key_kind=str(row["key_kind"]),
        serial=row["serial"],
        model=row["model"],
        figures=RunFigures(**{name: row[name] for name in _FIGURE_COLUMNS}),
    )
