"""The vocabulary of evidence: which measurement showed what about a requirement. Any mode's
measurement of a requirement can prove it and any can disprove it, so the verdict names the
measurement behind every line instead of assuming the setup check ran."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Measurement(StrEnum):
    """A measurement that proves or disproves a requirement; the value names it in the JSON."""

    SEQUENTIAL_READ = "sequential_read"
    SEQUENTIAL_WRITE = "sequential_write"
    """Reported only: its windows' spread is shown, it decides no rating."""
    SUSTAINED_READ = "sustained_read"
    """Its lowest window after the warm-up: what the show would have had at worst."""
    NORMAL_REPLAY = "normal_replay"
    CROSSFADE_REPLAY = "crossfade_replay"
    SHOW_PATTERN = "show_pattern"
    """Every show-pattern phase, away from its crossfades."""
    SHOW_CROSSFADES = "show_crossfades"
    """The crossfades of the show-pattern phases that had them."""
    MEDIA_PLAYBACK = "media_playback"
    MEDIA_CROSSFADE = "media_crossfade"
    CAPACITY = "capacity"
    SUSTAINED_WRITE = "sustained_write"
    INTEGRITY = "integrity"

    @property
    def phrase(self) -> str:
        """How a reason names the measurement."""
        return _PHRASES[self]

    @property
    def run_name(self) -> str:
        """The run itself, e.g. where the report lists every run's window spread."""
        return "sustained read" if self is Measurement.SUSTAINED_READ else self.phrase


_PHRASES = {
    Measurement.SEQUENTIAL_READ: "sequential read",
    Measurement.SEQUENTIAL_WRITE: "sequential write",
    Measurement.SUSTAINED_READ: "sustained read (lowest window)",
    Measurement.NORMAL_REPLAY: "normal playback replay",
    Measurement.CROSSFADE_REPLAY: "crossfade replay",
    Measurement.SHOW_PATTERN: "show pattern outside crossfades",
    Measurement.SHOW_CROSSFADES: "show pattern crossfades",
    Measurement.MEDIA_PLAYBACK: "media playback",
    Measurement.MEDIA_CROSSFADE: "media crossfade",
    Measurement.CAPACITY: "capacity search",
    Measurement.SUSTAINED_WRITE: "sustained write",
    Measurement.INTEGRITY: "data integrity check",
}


class Aspect(StrEnum):
    """What a requirement needs: the read bandwidth, and its frames played without a drop.
    Health findings (throttling, temperature, corrupt data) can only disprove."""

    BANDWIDTH = "bandwidth"
    PLAYBACK = "playback"
    HEALTH = "health"


class Outcome(StrEnum):
    PROVED = "proved"
    """Met, and enough on its own for its aspect."""
    SUPPORTED = "supported"
    """Met, but not enough on its own (part of the show pattern, the show's media files)."""
    DISPROVED = "disproved"


@dataclass(frozen=True)
class Proof:
    """One measurement's word on one requirement, with the figure it was judged on."""

    aspect: Aspect
    measurement: Measurement
    outcome: Outcome
    sentence: str
    mb_s: float | None = None
    """The bandwidth judged (after any disagreement lowered it)."""
    dropped_frames: int | None = None
    frames: int | None = None
    figure_text: str = ""
    """The figure in words where it is neither MB/s nor frames (the capacity search's streams)."""

    @property
    def figure(self) -> str:
        """e.g. "at 1052.8 MB/s", "with 0 of 583 frames dropped"."""
        if self.figure_text:
            return self.figure_text
        if self.mb_s is not None:
            return f"at {self.mb_s:.1f} MB/s"
        if self.dropped_frames is not None and self.frames is not None:
            return f"with {self.dropped_frames} of {self.frames} frames dropped"
        return ""


@dataclass(frozen=True)
class WindowSpread:
    """How far a bandwidth measurement's own windows spread: the drive's measured variability."""

    window_s: float
    count: int
    lowest_mb_s: float
    highest_mb_s: float

    @property
    def fraction(self) -> float:
        """How far the lowest window lies below the highest, as a share of the highest."""
        if self.highest_mb_s <= 0:
            return 0.0
        return (self.highest_mb_s - self.lowest_mb_s) / self.highest_mb_s

    def sentence(self) -> str:
        return (
            f"{self.count} windows of {self.window_s:g} s from {self.lowest_mb_s:.1f} to "
            f"{self.highest_mb_s:.1f} MB/s ({self.fraction:.0%} apart)"
        )


@dataclass(frozen=True)
class BandwidthFigure:
    """A read bandwidth measurement as the rating reads it."""

    measurement: Measurement
    mb_s: float
    """The sequential read's mean; the sustained read's lowest window after its warm-up."""
    spread: WindowSpread | None = None
    """None with fewer than two windows."""


@dataclass(frozen=True)
class Playback:
    """Frames a measurement played of a requirement's streams, and how many it dropped."""

    measurement: Measurement
    frames: int
    dropped_frames: int
    scope: str = ""
    """What was played, e.g. "in 5 phases"."""
    short_of: str | None = None
    """Why a clean run does not prove the requirement on its own, e.g. part of the show."""
    failures: tuple[str, ...] = ()
    """A sentence for each stream, phase or file that dropped frames."""


@dataclass(frozen=True)
class CapacityFigure:
    """The capacity search for the show's heaviest stream: the most it played without a drop."""

    max_streams: int
    needed_streams: int
    limit: int
    stream: str
    stream_mb_s: float

    @property
    def played_mb_s(self) -> float:
        return self.max_streams * self.stream_mb_s

    @property
    def dropped_at_mb_s(self) -> float | None:
        """The load that dropped frames, None when the search stopped at its limit clean."""
        if self.max_streams >= self.limit:
            return None
        return (self.max_streams + 1) * self.stream_mb_s


@dataclass(frozen=True)
class Finding:
    """A failure a measurement found that breaks a requirement whatever its bandwidth."""

    measurement: Measurement
    sentence: str
