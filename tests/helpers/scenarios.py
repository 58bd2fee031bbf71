"""The profiles, plans and volume set-up shared by the fio recorder (tests/fixtures/fio/record.py)
and the fast-tier tests that replay its recordings.

A recording only fits the run that made it: the modes name their fio jobs after the streams and
files of a plan, and the fake runner refuses a job file whose jobs, directions and block sizes
differ from what was recorded. Both sides therefore build their modes from this one module.
"""

from __future__ import annotations

from pathlib import Path

from pytest_qlab.core.evidence import VolumeRecord
from pytest_qlab.core.profiles import CrossfadeSpec, PhaseSpec, ShowProfile, StreamSpec
from pytest_qlab.modes.setup_check import SetupCheckPlan
from pytest_qlab.modes.show_pattern import ShowPatternPlan
from pytest_qlab.modes.sustained import SustainedPlan
from pytest_qlab.safety.volume import ScratchSpace, TargetVolume, resolve_target

TIME_SCALE = 0.01
"""Every setup-check measurement takes the one-second minimum and every file the 64 MiB one."""

SETUP_READ_LIMIT_BYTES_S = 80_000_000
"""The setup check is recorded on a drive held to 80 MB/s reads (a cgroup blkio rule): the
normal set (90 MB/s) drops frames, the crossfade set (60 MB/s) plays, one 4K stream plays."""
HD = StreamSpec(name="HD", mb_s=30, fps=25, count=1)
UHD = StreamSpec(name="4K", mb_s=60, fps=25, count=1)
SETUP_PROFILE = ShowProfile(
    name="fast-tier setup",
    streams=(HD, UHD),
    crossfade=CrossfadeSpec(streams=(HD.model_copy(update={"count": 2}),)),
)

SUSTAINED_FULL_S = 500.0
"""Full-scale seconds of the sustained runs: 5 s at TIME_SCALE, five one-second windows."""
THROTTLED_FULL_S = 600.0
"""6 s: a one-second warm-up, a two-second baseline, then three seconds held to a third."""
THROTTLE_AFTER_S = 3.0
THROTTLED_READ_BYTES_S = 100_000_000

SHOW_HD = StreamSpec(name="HD", mb_s=20, fps=25, count=2)
SHOW_CROSSFADE_LIMIT_BYTES_S = 60_000_000
"""The finale is recorded held to 60 MB/s: its 40 MB/s continuous streams play, the 80 MB/s
incoming crossfade stream cannot."""
SHOW_PROFILE = ShowProfile(
    name="fast-tier show",
    streams=(SHOW_HD,),
    phases=(
        PhaseSpec(
            name="house-open", duration_s=200, streams=(SHOW_HD.model_copy(update={"count": 1}),)
        ),
        PhaseSpec(name="act-1", duration_s=400, crossfade_every_s=100),
        PhaseSpec(
            name="finale",
            duration_s=400,
            crossfade_every_s=100,
            crossfade_streams=(StreamSpec(name="8K", mb_s=80, fps=25, count=1),),
        ),
    ),
)
SHOW_FREE_BYTES = 10**12
"""Free space the show plan is sized for: plenty, so every file is its minimum."""

INTEGRITY_FILE_BYTES = 16 * 1024 * 1024
INTEGRITY_CORRUPT_OFFSET_BYTES = 5 * 1024 * 1024
"""Where the recorder overwrites a block of the written file before the failing verify."""


def setup_plan() -> SetupCheckPlan:
    return SetupCheckPlan.for_profile(SETUP_PROFILE, TIME_SCALE)


def sustained_plan(duration_full_s: float = SUSTAINED_FULL_S) -> SustainedPlan:
    return SustainedPlan.for_scale(TIME_SCALE, duration_s=duration_full_s)


def show_plan() -> ShowPatternPlan:
    return ShowPatternPlan.for_profile(SHOW_PROFILE, TIME_SCALE, SHOW_FREE_BYTES)


def target_volume(directory: Path) -> TargetVolume:
    """`directory` checked the way a --volume is."""
    return resolve_target(str(directory))


def scratch_space(volume: TargetVolume, run_id: str = "fast-tier") -> ScratchSpace:
    """The run's scratch folder on `volume`, created as a run creates it."""
    return ScratchSpace(volume, run_id).create()


def volume_record(volume: TargetVolume) -> VolumeRecord:
    """The one place tests build a volume record, so a redesigned record changes one line."""
    return VolumeRecord(volume)
