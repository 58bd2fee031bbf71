"""The qualification modes, listed once: their markers, titles and whether they take hours.
The plugin registers the markers and leaves the long modes out unless asked for; the reports
group their rows by mode."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mode:
    name: str
    """The pytest marker that selects the mode's items."""
    title: str
    """How the reports head the mode's rows."""
    description: str
    long: bool
    """Takes hours: runs only when chosen with -m or by naming its file."""


MODES = (
    Mode(
        "setup_check",
        "Setup check",
        "setup check (~30 s): preflight, sequential read/write, playback replay, rating",
        long=False,
    ),
    Mode(
        "show_pattern",
        "Show pattern",
        "show pattern (2.5 h): the show's phases back to back",
        long=True,
    ),
    Mode(
        "sustained",
        "Max sustained",
        "max sustained (2 h): flat-out reads with thermal watch",
        long=True,
    ),
    Mode(
        "integrity",
        "Data integrity",
        "data integrity (optional): crc32c-checked write and read-back, first bad offset",
        long=True,
    ),
)
SETUP_CHECK, SHOW_PATTERN, SUSTAINED, INTEGRITY = MODES
LONG_MODES = tuple(mode.name for mode in MODES if mode.long)
EXTRA_MARKERS = {
    "capacity": "maximum stream count: the most simultaneous streams without a dropped frame",
}
"""Markers within a mode: `-m "not capacity"` leaves the capacity search out of the setup
check."""


def markers() -> dict[str, str]:
    """Every marker the plugin registers, with its description."""
    return {mode.name: mode.description for mode in MODES} | EXTRA_MARKERS
