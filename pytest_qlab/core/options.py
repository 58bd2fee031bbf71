"""The --qlab-* options: one place for their help text, parsing and validation.

Precedence is command line > ini > default; every error names where the bad value came from.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pytest_qlab.core.verdict import Rating
from pytest_qlab.fleet.errors import HostError
from pytest_qlab.fleet.hosts import parse_host
from pytest_qlab.history.errors import HistoryError
from pytest_qlab.history.location import OFF, is_url, parse_url

DEFAULT_REPORT_DIR = "reports"


def _number(text: str, fits: Callable[[float], bool], problem: str) -> float:
    """`text` as a number that `fits`, else the one sentence `problem` (what to give)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not fits(value):  # nan fits no bound
        raise argparse.ArgumentTypeError(f"{text!r} is not {problem}")
    return value


def time_scale(text: str) -> float:
    return _number(
        text,
        lambda value: 0 < value <= 1,
        "a time scale: give a number above 0 and at most 1 "
        "(1 = full qualification, 0.01 = a 1 % rehearsal)",
    )


def rating_level(text: str) -> Rating:
    try:
        level = Rating(text.strip().lower())
    except ValueError:
        level = Rating.INSUFFICIENT
    if level is Rating.INSUFFICIENT:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a level to require: use acceptable or excellent"
        )
    return level


def progress_interval(text: str) -> float:
    return _number(
        text,
        lambda value: 1 <= value < math.inf,
        "a progress interval: give the seconds between progress lines in a log, at least 1 "
        "(default: 60 at full scale, compressed by --qlab-time-scale)",
    )


def throttle_drop_percent(text: str) -> float:
    """Percent below the early baseline that counts as throttling, returned as a fraction."""
    percent = _number(
        text,
        lambda value: 1 <= value <= 90,
        "a throttling threshold: give the percent drop below the early baseline that counts "
        "as throttling, 1 to 90 (default 20)",
    )
    return percent / 100


def throttle_time(text: str) -> float:
    return _number(
        text,
        lambda value: 1 <= value <= 3600,
        "a throttling time: give how many seconds (at full scale) a drop must last to count "
        "as throttling, 1 to 3600 (default 30)",
    )


def history_setting(text: str) -> str:
    """A SQLite file, a database URL (postgresql+psycopg://user@host/qlab) or "off"."""
    text = text.strip()
    if not text:
        raise argparse.ArgumentTypeError(
            f"an empty history was given: give a file, a database URL, or {OFF}"
        )
    if is_url(text):
        try:
            parse_url(text)
        except HistoryError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def host_address(text: str) -> str:
    """An ssh:// host volume, checked for its form only: the host is reached when the run opens."""
    try:
        parse_host(text)
    except HostError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


def non_empty_path(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path was given")
    return text


@dataclass(frozen=True)
class QlabOptions:
    volumes: tuple[str, ...]
    """As typed by the user; empty means the system temp directory."""
    profile: str | None
    """A TOML file or a built-in profile name; None: none given (the show's media describe the
    show when named, else the default profile)."""
    fio: str | None
    time_scale: float
    require: Rating
    report_dir: Path
    keep_files: bool
    progress_interval_s: float | None = None
    """Seconds between progress lines in a log; None: a minute, compressed by the time scale."""
    throttle_drop_fraction: float = 0.20
    throttle_min_s: float = 30.0
    """Full-scale seconds; compressed by the time scale like every duration."""
    media: tuple[str, ...] = ()
    """The show's own media files or folders on the volumes, as typed (--qlab-media)."""
    streams: tuple[str, ...] = ()
    """--qlab-stream specs as typed; when given, they describe the show instead of `profile`."""
    history: str | None = None
    """--qlab-history as given: a file, a database URL or "off"; None: the default file in the
    user's data folder."""
    hosts: tuple[str, ...] = ()
    """--qlab-host ssh:// addresses as typed: other machines' volumes, measured at once."""
    ssh_config: str | None = None
    """--qlab-ssh-config: the ssh_config file for the hosts."""
    frametimes: bool = False
    """--qlab-frametimes: every replayed frame's timing saved as CSV beside the HTML report."""

    @property
    def rehearsal(self) -> bool:
        return self.time_scale < 1
