"""The history as one qualification run uses it: opened once, when first needed; each drive's
past read once; the run stored once, at the end. Any failure becomes one warning line and the
history is left alone for the rest of the run: the qualification goes on exactly as without."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pytest_qlab.history.compare import history_report
from pytest_qlab.history.errors import HistoryError
from pytest_qlab.history.identity import DriveKey
from pytest_qlab.history.location import StoreLocation
from pytest_qlab.history.model import StoredRun
from pytest_qlab.history.record import figures_of, key_of, new_run
from pytest_qlab.report.model import QlabReport

if TYPE_CHECKING:
    from pytest_qlab.history.store import HistoryStore


def _failures() -> tuple[type[BaseException], ...]:
    """What a broken history raises. A function, so SQLAlchemy loads only with a history that
    is used: an except clause evaluates it when something was raised."""
    from sqlalchemy.exc import SQLAlchemyError

    return (HistoryError, SQLAlchemyError, sqlite3.Error, OSError)


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class RunHistory:
    def __init__(
        self, location: StoreLocation | None, *, host: str, qlab_version: str, date_utc: str
    ) -> None:
        self.location = location
        """None: the history is off."""
        self.host = host
        self.qlab_version = qlab_version
        self.date_utc = date_utc
        self.warning: str | None = None
        """The one line a failed history costs."""
        self._store: HistoryStore | None = None
        self._past: dict[str, list[StoredRun]] = {}
        self.stored: dict[str, int] = {}
        """Run id by volume name, once stored."""

    def _open(self) -> HistoryStore | None:
        if self.location is None or self.warning is not None:
            return None
        if self._store is None:
            from pytest_qlab.history.store import HistoryStore  # loads SQLAlchemy

            try:
                self._store = HistoryStore(self.location)
            except _failures() as exc:
                self._fail(exc)
        return self._store

    def _fail(self, exc: BaseException) -> None:
        message = str(exc) if isinstance(exc, HistoryError) else f"history: {exc}"
        self.warning = message if message.startswith("history") else f"history {message}"
        self.close()

    def past(self, key: DriveKey) -> list[StoredRun] | None:
        """The drive's earlier runs, oldest first; None when the history is off or unusable."""
        if key.key in self._past:
            return self._past[key.key]
        store = self._open()
        if store is None:
            return None
        try:
            self._past[key.key] = store.runs_of(key.key)
        except _failures() as exc:
            self._fail(exc)
            return None
        return self._past[key.key]

    def attach(self, qlab: QlabReport) -> None:
        """Each volume's history block, compared with the past read before this run is stored."""
        if self.location is None:
            return
        for volume in qlab.volumes:
            key = key_of(volume, self.host)
            past = self.past(key)
            if past is None:
                return
            current = figures_of(
                qlab, volume, host=self.host, date_utc=self.date_utc, qlab_version=self.qlab_version
            )
            volume.history = history_report(self.location.label, key, past, current)

    def store(self, qlab: QlabReport, document: dict[str, Any]) -> dict[str, int]:
        """Store each volume's run with the JSON report; an interrupted run is not stored (its
        figures are partial). Returns the run ids by volume name."""
        if self.stored or qlab.interrupted:
            return self.stored
        store = self._open()
        if store is None:
            return self.stored
        try:
            for volume in qlab.volumes:
                figures = figures_of(
                    qlab,
                    volume,
                    host=self.host,
                    date_utc=self.date_utc,
                    qlab_version=self.qlab_version,
                )
                run = new_run(key_of(volume, self.host), figures, volume, document)
                self.stored[volume.name] = store.add(run)
        except _failures() as exc:
            self._fail(exc)
        return self.stored

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
