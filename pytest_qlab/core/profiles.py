"""Show profiles: the ProRes rate table, the streams a show plays, and the requirements they set.

Rates come from Apple's ProRes white paper (target Mb/s per codec, raster and nominal frame
rate). A frame's target size is rate / nominal fps and stays the same at the fractional rates
(23.976, 29.97, 59.94), which play that frame size at the actual fps. Real files run 5-10 %
under the targets, so the targets are a safe upper bound.
"""

from __future__ import annotations

import csv
import math
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal, NamedTuple, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pytest_qlab.core.errors import QlabError
from pytest_qlab.core.units import BYTES_PER_MB
from pytest_qlab.core.verdict import Rating, Requirement, RequirementKey

Codec = Literal["proxy", "lt", "422", "hq", "4444", "4444xq"]
CODEC_NAMES: dict[str, str] = {
    "proxy": "ProRes 422 Proxy",
    "lt": "ProRes 422 LT",
    "422": "ProRes 422",
    "hq": "ProRes 422 HQ",
    "4444": "ProRes 4444",
    "4444xq": "ProRes 4444 XQ",
}
RASTER_NAMES: dict[str, str] = {
    "1280x720": "720p",
    "1920x1080": "HD",
    "2048x1080": "2K",
    "3840x2160": "UHD",
    "4096x2160": "4K DCI",
    "5120x2700": "5K",
    "8192x4320": "8K",
}
NOMINAL_FPS: dict[float, int] = {
    23.976: 24,
    24: 24,
    25: 25,
    29.97: 30,
    30: 30,
    50: 50,
    59.94: 60,
    60: 60,
}
FRAME_ALIGNMENT_BYTES = 4096
"""Direct I/O reads whole 4 KiB blocks, so a replayed frame is its size rounded up to that."""


class ProfileError(QlabError):
    """A profile that cannot be used; the message names the file, the field and what is allowed."""


def _fps_label(fps: float) -> str:
    return f"{fps:g}"


def nominal_fps(fps: float) -> int:
    for actual, nominal in NOMINAL_FPS.items():
        if math.isclose(fps, actual, abs_tol=0.0015):
            return nominal
    allowed = ", ".join(_fps_label(value) for value in NOMINAL_FPS)
    raise ProfileError(f"fps {fps:g} is not a ProRes frame rate in the table; use one of {allowed}")


@dataclass(frozen=True)
class RateTable:
    """Target Mb/s keyed by (codec, raster, nominal fps)."""

    target_mbit_s: dict[tuple[str, str, int], float]

    @property
    def rasters(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(raster for _, raster, _ in self.target_mbit_s))

    def lookup(self, codec: str, raster: str, fps: float) -> float:
        nominal = nominal_fps(fps)
        try:
            return self.target_mbit_s[(codec, raster, nominal)]
        except KeyError:
            pass
        if codec not in CODEC_NAMES:
            raise ProfileError(f"codec {codec!r} is unknown; use one of {', '.join(CODEC_NAMES)}")
        if raster not in self.rasters:
            raise ProfileError(
                f"raster {raster!r} is unknown; use one of {', '.join(self.rasters)}"
            )
        rates = sorted({fps for c, r, fps in self.target_mbit_s if (c, r) == (codec, raster)})
        raise ProfileError(
            f"{CODEC_NAMES[codec]} {raster} has no target rate at {fps:g} fps; "
            f"the table has {', '.join(map(str, rates))} fps"
        )

    def frame_bytes(self, codec: str, raster: str, fps: float) -> float:
        """Target bytes per frame: the rate at the nominal fps divided by that fps."""
        return self.lookup(codec, raster, fps) * 1_000_000 / 8 / nominal_fps(fps)


@cache
def rate_table() -> RateTable:
    text = resources.files("pytest_qlab").joinpath("data/prores_target_rates.csv").read_text()
    rates = {
        (row["codec"], f"{row['width']}x{row['height']}", int(row["fps"])): float(
            row["target_mbit_s"]
        )
        for row in csv.DictReader(text.splitlines())
    }
    return RateTable(rates)


_STRICT = ConfigDict(extra="forbid", frozen=True)


class SourceKey(NamedTuple):
    """A stream's movie as the profile names it: ("media", "Show/backdrop.mov") or
    ("frames_from", "/Samples/reference.mov")."""

    kind: Literal["media", "frames_from"]
    path: str


class StreamSpec(BaseModel):
    """One kind of stream the show plays: a ProRes flavour, or an explicit rate."""

    model_config = _STRICT

    name: str | None = Field(default=None, max_length=60)
    codec: Codec | None = None
    raster: str | None = Field(default=None, pattern=r"^\d{3,5}x\d{3,5}$")
    mb_s: float | None = Field(default=None, gt=0, le=20_000)
    fps: float = Field(gt=0, le=240)
    count: int = Field(default=1, ge=1, le=64)
    media: str | None = Field(default=None, min_length=1, max_length=1024)
    """A show file on the volume, relative to the volume's folder: the stream plays that file.
    Its rate (`mb_s`, the file's busiest second) and `fps` are filled in from the file when the
    run opens (`media.stream_files`); a profile file gives neither."""
    frames_from: str | None = Field(default=None, min_length=1, max_length=4096)
    """A reference movie anywhere (absolute once the run opens): the stream replays its real
    frame-size sequence on scratch files, for a blank drive. Rate and fps as for `media`."""

    @model_validator(mode="after")
    def _one_way_of_giving_the_rate(self) -> Self:
        by_codec = self.codec is not None or self.raster is not None
        if self.media is not None and self.frames_from is not None:
            raise ValueError("give either media (a file on the volume) or frames_from, not both")
        if self.source_key is not None and by_codec:
            raise ValueError("a stream with media or frames_from takes its rate from the file")
        if by_codec and self.mb_s is not None:
            raise ValueError("give either codec + raster or mb_s, not both")
        if not by_codec and self.mb_s is None:
            raise ValueError(
                "give either codec + raster (e.g. codec = 'hq', raster = '3840x2160') or mb_s"
            )
        if by_codec:
            if self.codec is None or self.raster is None:
                raise ValueError("codec and raster go together")
            try:
                rate_table().lookup(self.codec, self.raster, self.fps)
            except ProfileError as exc:
                raise ValueError(str(exc)) from None
        return self

    @property
    def source_key(self) -> SourceKey | None:
        """Which movie gives this stream its frames; None for a constant-rate stream."""
        if self.media is not None:
            return SourceKey("media", self.media)
        if self.frames_from is not None:
            return SourceKey("frames_from", self.frames_from)
        return None

    @property
    def label(self) -> str:
        if self.codec is not None and self.raster is not None:
            raster = RASTER_NAMES.get(self.raster, self.raster)
            text = f"{raster} {CODEC_NAMES[self.codec]} {_fps_label(self.fps)}"
        else:
            text = f"{self.mb_s:g} MB/s at {_fps_label(self.fps)} fps"
        source = self.source_key
        name = self.name or (Path(source.path).name if source is not None else None)
        return f"{name} ({text})" if name else text

    @property
    def cell_key(self) -> tuple[str, str, int] | None:
        """Its cell in the "Will it work?" matrix; None for a stream given as plain MB/s."""
        if self.codec is None or self.raster is None:
            return None
        return (self.codec, self.raster, nominal_fps(self.fps))

    @property
    def target_frame_bytes(self) -> float:
        if self.codec is not None and self.raster is not None:
            return rate_table().frame_bytes(self.codec, self.raster, self.fps)
        assert self.mb_s is not None
        return self.mb_s * BYTES_PER_MB / self.fps

    @property
    def frame_bytes(self) -> int:
        """What one replayed frame reads: the target size rounded up to whole 4 KiB blocks."""
        blocks = math.ceil(self.target_frame_bytes / FRAME_ALIGNMENT_BYTES)
        return blocks * FRAME_ALIGNMENT_BYTES

    @property
    def rate_bytes_s(self) -> int:
        """The replay rate: whole frames at the frame rate, a hair above the target."""
        return math.ceil(self.frame_bytes * self.fps)

    @property
    def mb_s_each(self) -> float:
        return self.target_frame_bytes * self.fps / BYTES_PER_MB

    @property
    def total_mb_s(self) -> float:
        return self.mb_s_each * self.count

    def derivation(self) -> str:
        if self.codec is not None and self.raster is not None:
            target = rate_table().lookup(self.codec, self.raster, self.fps)
            nominal = nominal_fps(self.fps)
            source = (
                f"{target:g} Mb/s target at {nominal} fps = "
                f"{self.target_frame_bytes / BYTES_PER_MB:.3f} MB/frame "
                f"x {_fps_label(self.fps)} fps"
            )
        elif self.media is not None:
            source = f"{self.mb_s:g} MB/s in the busiest second of {self.media}"
        elif self.frames_from is not None:
            source = f"{self.mb_s:g} MB/s in the busiest second of {self.frames_from}"
        else:
            source = f"{self.mb_s:g} MB/s given"
        return f"{self.count} x {self.label}: {source} = {self.mb_s_each:.1f} MB/s each"


class CrossfadeSpec(BaseModel):
    """A crossfade overlaps two cue sets; by default the whole normal set plays twice."""

    model_config = _STRICT

    duration_s: float = Field(default=5.0, gt=0, le=600)
    every_s: float = Field(default=180.0, gt=0, le=86_400)
    streams: tuple[StreamSpec, ...] | None = None
    peak_mb_s: float | None = Field(default=None, gt=0, le=100_000)
    """An explicit crossfade requirement (e.g. a specified figure with a safety buffer)."""


MAX_PHASE_S = 6 * 3600
MAX_CROSSFADES_PER_PHASE = 64
"""Each crossfade is its own fio jobs (one per incoming stream); this bounds their number."""
FINALE_CROSSFADE_EVERY_S = 30.0


class PhaseSpec(BaseModel):
    """One part of the show pattern: what plays, for how long, how often it crossfades."""

    model_config = _STRICT

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    """Lower case, digits and dashes: it names the test item ("act-1")."""
    duration_s: float = Field(gt=0, le=MAX_PHASE_S)
    streams: tuple[StreamSpec, ...] | None = Field(default=None, min_length=1, max_length=32)
    """What plays throughout; default: the profile's normal set."""
    crossfade_every_s: float | None = Field(default=None, gt=0, le=86_400)
    """A crossfade starts every this many seconds; default: no crossfades."""
    crossfade_streams: tuple[StreamSpec, ...] | None = Field(
        default=None, min_length=1, max_length=32
    )
    """The incoming cue set of a crossfade; default: a second copy of this phase's streams."""

    @model_validator(mode="after")
    def _bounded_crossfades(self) -> Self:
        if self.crossfade_every_s is not None:
            count = self.duration_s // self.crossfade_every_s
            if count > MAX_CROSSFADES_PER_PHASE:
                raise ValueError(
                    f"phase {self.name!r} would crossfade {count:.0f} times; at most "
                    f"{MAX_CROSSFADES_PER_PHASE} per phase: raise crossfade_every_s or split "
                    "the phase"
                )
        return self


class ShowProfile(BaseModel):
    model_config = _STRICT

    name: str = Field(min_length=1, max_length=80)
    streams: tuple[StreamSpec, ...] = Field(min_length=1, max_length=32)
    crossfade: CrossfadeSpec = Field(default_factory=CrossfadeSpec)
    headroom: float = Field(default=1.0, ge=1.0, le=10.0)
    player_buffer_frames: int = Field(default=3, ge=0, le=120)
    phases: tuple[PhaseSpec, ...] | None = Field(default=None, min_length=1, max_length=24)
    """The show pattern's phases; default: `default_phases` (2.5 h)."""
    shared_storage: bool = False
    """The fleet hosts' volumes are one storage (a SAN, or a NAS whose identity the hosts
    cannot show): the fleet line then says what it carried for all of them at once."""
    derived_from: tuple[str, ...] = Field(default=(), max_length=64)
    """How the streams were found, one line each, when they come from the show's own media
    (shown instead of the streams' own derivation)."""

    @model_validator(mode="after")
    def _unique_phase_names(self) -> Self:
        names = [phase.name for phase in self.phases or ()]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"phase names must be unique; repeated: {', '.join(duplicates)}")
        return self

    @property
    def show_phases(self) -> tuple[PhaseSpec, ...]:
        return self.phases if self.phases is not None else self.default_phases()

    def default_phases(self) -> tuple[PhaseSpec, ...]:
        """A 2.5 h show: house-open loop (15 min, one light stream), act 1 (55 min, normal
        set, a crossfade every `crossfade.every_s`), intermission (20 min, light), act 2
        (50 min, like act 1), finale (10 min, a crossfade every 30 s)."""
        lightest = min(self.streams, key=lambda stream: stream.mb_s_each)
        light = (lightest.model_copy(update={"count": 1}),)
        every_s = self.crossfade.every_s
        return (
            PhaseSpec(name="house-open", duration_s=15 * 60, streams=light),
            PhaseSpec(name="act-1", duration_s=55 * 60, crossfade_every_s=every_s),
            PhaseSpec(name="intermission", duration_s=20 * 60, streams=light),
            PhaseSpec(name="act-2", duration_s=50 * 60, crossfade_every_s=every_s),
            PhaseSpec(
                name="finale", duration_s=10 * 60, crossfade_every_s=FINALE_CROSSFADE_EVERY_S
            ),
        )

    @property
    def crossfade_streams(self) -> tuple[StreamSpec, ...]:
        return self.crossfade.streams if self.crossfade.streams is not None else self.streams * 2

    @property
    def normal_mb_s(self) -> float:
        return sum(stream.total_mb_s for stream in self.streams) * self.headroom

    @property
    def crossfade_mb_s(self) -> float:
        if self.crossfade.peak_mb_s is not None:
            return self.crossfade.peak_mb_s
        return sum(stream.total_mb_s for stream in self.crossfade_streams) * self.headroom

    @property
    def subject(self) -> str:
        """How a requirement's derivation names the show it was derived from."""
        return f"profile {self.name!r}"

    def _sum_text(self, streams: tuple[StreamSpec, ...]) -> str:
        parts = " + ".join(f"{stream.count} x {stream.mb_s_each:.1f}" for stream in streams)
        headroom = f" x headroom {self.headroom:g}" if self.headroom != 1 else ""
        return f"{parts} MB/s{headroom}"

    def requirements(self) -> tuple[Requirement, Requirement]:
        normal = Requirement(
            key=RequirementKey.NORMAL_PLAYBACK,
            level=Rating.ACCEPTABLE,
            required_mb_s=self.normal_mb_s,
            derivation=(
                f"normal playback of {self.subject}: {self._sum_text(self.streams)} "
                f"= {self.normal_mb_s:.1f} MB/s"
            ),
        )
        if self.crossfade.peak_mb_s is not None:
            how = f"specified crossfade peak incl. safety buffer = {self.crossfade_mb_s:.1f} MB/s"
        else:
            how = f"{self._sum_text(self.crossfade_streams)} = {self.crossfade_mb_s:.1f} MB/s"
        crossfade = Requirement(
            key=RequirementKey.CROSSFADE_PEAK,
            level=Rating.EXCELLENT,
            required_mb_s=self.crossfade_mb_s,
            derivation=f"crossfade peak of {self.subject}: {how}",
        )
        return normal, crossfade

    def derivation_lines(self) -> list[str]:
        lines = list(self.derived_from) or [stream.derivation() for stream in self.streams]
        lines += [requirement.derivation for requirement in self.requirements()]
        return lines


DEFAULT_PROFILE = ShowProfile(
    name="default",
    streams=(
        StreamSpec(name="4K", mb_s=440, fps=29.97, count=1),
        StreamSpec(name="HD", mb_s=72, fps=29.97, count=3),
    ),
    crossfade=CrossfadeSpec(peak_mb_s=2100),
)
BUILTIN_PROFILES: dict[str, ShowProfile] = {"default": DEFAULT_PROFILE}


def _field_path(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "(top level)"


def parse_profile(data: dict[str, object], source: str) -> ShowProfile:
    try:
        return ShowProfile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_field_path(error['loc'])}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise ProfileError(f"profile {source} is invalid: {problems}; fix the file") from None


@dataclass(frozen=True)
class ProfileFile:
    """A profile file's TOML, before validation: streams that name movies are filled in from
    the movies first (their rate and fps), which needs the volumes the run qualifies."""

    data: dict[str, object]
    path: Path

    @property
    def source(self) -> str:
        return str(self.path)


def read_profile_file(path: Path) -> ProfileFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"profile {path} cannot be read ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"profile {path} is not valid TOML ({exc}); fix the file") from None
    return ProfileFile(data, path)


def find_profile(reference: str) -> ShowProfile | ProfileFile:
    """A built-in profile by name, or a TOML file by path, read but not yet validated."""
    if reference in BUILTIN_PROFILES:
        return BUILTIN_PROFILES[reference]
    path = Path(reference).expanduser()
    if not path.is_file():
        builtins = ", ".join(BUILTIN_PROFILES)
        raise ProfileError(
            f"profile {reference!r} is neither a file nor a built-in profile ({builtins})"
        )
    return read_profile_file(path)


def load_profile(reference: str) -> ShowProfile:
    """A built-in profile by name, or a TOML file by path whose streams give their rates."""
    found = find_profile(reference)
    if isinstance(found, ShowProfile):
        return found
    return parse_profile(found.data, found.source)
