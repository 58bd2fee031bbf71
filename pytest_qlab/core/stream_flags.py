"""A show from `--qlab-stream` flags: quick checks at the rental counter without a TOML file.

Each flag is one `[[streams]]` entry of a profile, written as

    SPEC = [COUNT "x"] CODEC ":" WIDTH "x" HEIGHT "@" FPS   hq:3840x2160@29.97, 3x422:1920x1080@25
         | [COUNT "x"] MB_S "MB/s" "@" FPS                  18.4MB/s@29.97, 2x18.4MB/s@29.97

and is checked by the profile model itself (StreamSpec), so a flag is refused for exactly the
reasons, and with the same words, as the same stream in a profile file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from pytest_qlab.core.profiles import CODEC_NAMES, ProfileError, ShowProfile, StreamSpec, rate_table

FLAG = "--qlab-stream"
GRAMMAR = (
    "give [COUNTx]CODEC:WIDTHxHEIGHT@FPS (e.g. hq:3840x2160@29.97, 3x422:1920x1080@25) "
    "or [COUNTx]<rate>MB/s@FPS (e.g. 18.4MB/s@29.97, 2x18.4MB/s@29.97)"
)
_COUNT = re.compile(r"(?P<count>[+-]?\d+(?:\.\d+)?)\s*x\s*(?P<rest>.+)", re.IGNORECASE)
_MB_S_UNIT = "MB/s"
NAME_PREFIX = f"from {FLAG}: "
_NAME_MAX_CHARS = 80
"""ShowProfile.name's own limit: a long list of streams is cut to fit it."""


class StreamFlagsProfile(ShowProfile):
    """A profile made from flags: it says so in every requirement's derivation, since the user
    has no profile file to look up."""

    @property
    def subject(self) -> str:
        return f"the {FLAG} show"


def _problem(error: ErrorDetails) -> str:
    """One validation error as the profile states it, without pydantic's "Value error, "
    prefix; a raster of the wrong shape also lists the rasters there are."""
    message = error["msg"].removeprefix("Value error, ")
    location = ".".join(str(part) for part in error["loc"])
    if location == "raster" and error["type"] == "string_pattern_mismatch":
        message += f"; use one of {', '.join(rate_table().rasters)}"
    return f"{location}: {message}" if location else message


def _refuse(spec: str, problem: str) -> ProfileError:
    return ProfileError(f"{FLAG} {spec!r} is invalid: {problem}")


def _split_count(text: str) -> tuple[str | None, str]:
    """`3x422:...` -> ("3", "422:..."); a codec that itself contains an x (4444xq) is no count."""
    head = text.split(":", 1)[0].strip().lower()
    if head in CODEC_NAMES:
        return None, text
    match = _COUNT.fullmatch(text)
    if match is None:
        return None, text
    return match["count"], match["rest"]


def _fields(spec: str) -> dict[str, str]:
    """The spec's parts as the profile's field names, still as text: the model converts and
    bounds them, so its messages are the ones a profile file gets."""
    text = spec.strip()
    if not text:
        raise ProfileError(f"{FLAG} {spec!r} is empty; {GRAMMAR}")
    count, rest = _split_count(text)
    rate, at, fps = rest.rpartition("@")
    if not at or not rate.strip() or not fps.strip():
        raise _refuse(spec, f"it needs a rate and a frame rate; {GRAMMAR}")
    fields = {"fps": fps.strip()}
    if count is not None:
        fields["count"] = count
    rate = rate.strip()
    if ":" in rate:
        codec, _, raster = rate.partition(":")
        fields |= {"codec": codec.strip().lower(), "raster": raster.strip().lower()}
    elif rate.endswith(_MB_S_UNIT):
        fields["mb_s"] = rate.removesuffix(_MB_S_UNIT).strip()
    elif rate.lower().endswith("mb/s"):
        # Mb/s (megabits) is eight times less than MB/s: guessing would qualify the wrong show.
        raise _refuse(spec, "write the rate in MB/s (megabytes per second; Mb/s / 8 = MB/s)")
    else:
        raise _refuse(spec, f"{rate!r} is neither CODEC:WIDTHxHEIGHT nor a rate in MB/s; {GRAMMAR}")
    return fields


def parse_stream(spec: str) -> StreamSpec:
    """One `--qlab-stream` value as the profile stream it stands for; a ProfileError names the
    flag, the spec and what is allowed."""
    fields = _fields(spec)
    try:
        return StreamSpec.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(_problem(error) for error in exc.errors(include_url=False))
        raise _refuse(spec, problems) from None


def profile_name(streams: Sequence[StreamSpec]) -> str:
    """e.g. "from --qlab-stream: 1 x UHD ProRes 422 HQ 29.97 + 3 x HD ProRes 422 25", cut to
    "... + 2 more" where the whole list would not fit a profile name."""
    parts = [f"{stream.count} x {stream.label}" for stream in streams]
    candidates = [NAME_PREFIX + " + ".join(parts)]
    candidates += [
        NAME_PREFIX + " + ".join(parts[:shown]) + f" + {len(parts) - shown} more"
        for shown in range(len(parts) - 1, 0, -1)
    ]
    candidates.append(f"{NAME_PREFIX}{len(parts)} kinds of stream")
    return next(name for name in candidates if len(name) <= _NAME_MAX_CHARS)


def profile_from_streams(specs: Sequence[str]) -> ShowProfile:
    """The show the flags describe, as a profile with only `[[streams]]`: crossfade, headroom,
    player buffer and phases take the defaults a profile file would get."""
    streams = tuple(parse_stream(spec) for spec in specs)
    if not streams:
        raise ProfileError(f"no {FLAG} was given; {GRAMMAR}")
    try:
        return StreamFlagsProfile(name=profile_name(streams), streams=streams)
    except ValidationError as exc:
        problems = "; ".join(_problem(error) for error in exc.errors(include_url=False))
        raise ProfileError(
            f"{FLAG} was given {len(specs)} times: {problems}; give a stream that plays several "
            "times once, with a count (e.g. 3x422:1920x1080@25)"
        ) from None
