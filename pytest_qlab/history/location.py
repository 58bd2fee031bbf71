"""Where the history lives: `--qlab-history` as given (a file, a database URL, "off") or the
default SQLite file in the user's data folder (platformdirs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from pytest_qlab.history.errors import HistoryError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

OFF = "off"
APP_NAME = "pytest-qlab"
DEFAULT_FILE_NAME = "history.sqlite3"


@dataclass(frozen=True)
class StoreLocation:
    url: URL
    label: str
    """What the user is told: the file's path, or the URL without its password."""
    sqlite_path: Path | None
    """The SQLite file, for the checks made before anything opens it for writing."""


def default_path() -> Path:
    """~/Library/Application Support/pytest-qlab/ on macOS, $XDG_DATA_HOME/pytest-qlab/ (else
    ~/.local/share/pytest-qlab/) on Linux."""
    return platformdirs.user_data_path(APP_NAME) / DEFAULT_FILE_NAME


def is_url(text: str) -> bool:
    return "://" in text


def parse_url(text: str) -> URL:
    from sqlalchemy.engine import make_url  # SQLAlchemy loads only where a history is used
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(text)
    except ArgumentError:
        raise HistoryError(
            f"{text!r} is not a database URL: give e.g. postgresql+psycopg://user@host/qlab, "
            "a file path, or off"
        ) from None


def sqlite_location(path: Path) -> StoreLocation:
    from sqlalchemy.engine import URL

    path = path.expanduser().absolute()
    return StoreLocation(URL.create("sqlite", database=str(path)), str(path), path)


def resolve(setting: str | None) -> StoreLocation | None:
    """None: the history is off."""
    if setting is None or not setting.strip():
        return sqlite_location(default_path())
    if setting.strip().lower() == OFF:
        return None
    if not is_url(setting):
        return sqlite_location(Path(setting))
    url = parse_url(setting)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise HistoryError(f"{setting}: an in-memory SQLite history keeps nothing; give a file")
        return sqlite_location(Path(url.database))
    return StoreLocation(url, url.render_as_string(hide_password=True), None)
