"""The show pattern's plan: phases, crossfade schedule at any time scale, stream files sized to
a minute of playback within the free space, and the replay each phase becomes."""

from __future__ import annotations

import pytest

from pytest_qlab.core.profiles import (
    DEFAULT_PROFILE,
    MAX_CROSSFADES_PER_PHASE,
    PhaseSpec,
    ProfileError,
    StreamSpec,
    parse_profile,
)
from pytest_qlab.core.scale import MINIMUM_FILE_BYTES
from pytest_qlab.core.units import BYTES_PER_MB
from pytest_qlab.modes.show_pattern import (
    CROSSFADE_RECOVERY_S,
    FREE_SPACE_SHARE,
    STREAM_SPAN_S,
    ShowPatternPlan,
    phase_streams,
    plan_phase,
    show_stream_file_name,
)

PLENTY_FREE_BYTES = 10**13


def test_default_phases_are_a_two_and_a_half_hour_show() -> None:
    phases = DEFAULT_PROFILE.show_phases

    assert [phase.name for phase in phases] == [
        "house-open",
        "act-1",
        "intermission",
        "act-2",
        "finale",
    ]
    assert sum(phase.duration_s for phase in phases) == 2.5 * 3600
    house_open, act_1, intermission, act_2, finale = phases
    for light in (house_open, intermission):
        assert light.streams is not None
        (stream,) = light.streams
        assert stream.count == 1
        assert stream.mb_s == 72  # the profile's lightest stream: one HD loop
        assert light.crossfade_every_s is None
    for act in (act_1, act_2):
        assert act.streams is None  # the profile's normal set
        assert act.crossfade_every_s == DEFAULT_PROFILE.crossfade.every_s
    assert finale.crossfade_every_s == 30


def test_a_profile_defines_its_own_phases() -> None:
    profile = parse_profile(
        {
            "name": "two-hander",
            "streams": [{"codec": "422", "raster": "1920x1080", "fps": 25, "count": 2}],
            "phases": [
                {"name": "preset", "duration_s": 600},
                {"name": "show", "duration_s": 3600, "crossfade_every_s": 120},
            ],
        },
        "two-hander.toml",
    )

    assert [phase.name for phase in profile.show_phases] == ["preset", "show"]
    show = plan_phase(profile, profile.show_phases[1], time_scale=1.0)
    assert show.streams == profile.streams
    assert len(show.crossfade_starts_s) == 29  # 120, 240, ... 3480: each ends inside the phase
    assert show.crossfade_streams == profile.streams  # the incoming set: the same cues again


@pytest.mark.parametrize(
    ("phases", "problem"),
    [
        ([{"name": "Act 1", "duration_s": 60}], "phases.0.name"),
        ([{"name": "act", "duration_s": 0}], "phases.0.duration_s"),
        ([{"name": "act", "duration_s": 10**9}], "phases.0.duration_s"),
        ([{"name": "act", "duration_s": 60}, {"name": "act", "duration_s": 60}], "repeated: act"),
        (
            [{"name": "act", "duration_s": 3600, "crossfade_every_s": 10}],
            f"at most {MAX_CROSSFADES_PER_PHASE} per phase",
        ),
    ],
)
def test_bad_phases_are_refused_naming_the_field(phases: list[object], problem: str) -> None:
    data: dict[str, object] = {
        "name": "bad",
        "streams": [{"mb_s": 50, "fps": 25}],
        "phases": phases,
    }

    with pytest.raises(ProfileError, match=r"bad\.toml") as refused:
        parse_profile(data, "bad.toml")

    assert problem in str(refused.value)


def test_full_scale_crossfades_follow_the_profile_cadence() -> None:
    act_1 = plan_phase(DEFAULT_PROFILE, DEFAULT_PROFILE.show_phases[1], time_scale=1.0)

    assert act_1.crossfade_starts_s == tuple(180.0 * k for k in range(1, 19))
    assert act_1.crossfade_duration_s == DEFAULT_PROFILE.crossfade.duration_s
    assert act_1.peak_mb_s == pytest.approx(
        2 * sum(s.rate_bytes_s * s.count for s in act_1.streams) / BYTES_PER_MB
    )


@pytest.mark.parametrize("time_scale", [0.02, 0.005])
def test_a_scaled_run_keeps_the_share_of_crossfade_time(time_scale: float) -> None:
    """A 1 s minimum crossfade every 0.6 s would be a far heavier show than 5 s every 30 s."""
    finale = DEFAULT_PROFILE.show_phases[-1]
    plan = plan_phase(DEFAULT_PROFILE, finale, time_scale)

    assert plan.crossfade_starts_s, "a phase with crossfades keeps at least one"
    share = len(plan.crossfade_starts_s) * plan.crossfade_duration_s / plan.duration_s
    full_share = 5 / 30
    assert share <= max(full_share, plan.crossfade_duration_s / plan.duration_s) + 1e-9
    for first, second in zip(plan.crossfade_starts_s, plan.crossfade_starts_s[1:], strict=False):
        assert second - first >= plan.crossfade_duration_s * 6 - 1e-9
    assert plan.crossfade_starts_s[-1] + plan.crossfade_duration_s <= plan.duration_s


def test_phase_without_crossfades_has_no_incoming_set() -> None:
    house_open = plan_phase(DEFAULT_PROFILE, DEFAULT_PROFILE.show_phases[0], 1.0)

    assert house_open.crossfade_starts_s == ()
    assert house_open.crossfade_streams == ()
    assert house_open.files_needed == 1
    assert house_open.scheduled_mb_s == pytest.approx(house_open.peak_mb_s)


def test_stream_files_hold_a_minute_of_each_files_fastest_stream() -> None:
    plan = ShowPatternPlan.for_profile(DEFAULT_PROFILE, 1.0, PLENTY_FREE_BYTES)

    # Acts: 4K + 3 HD throughout, and the same again during crossfades: 8 files.
    assert len(plan.file_bytes) == 8
    assert plan.span_s == STREAM_SPAN_S
    four_k = DEFAULT_PROFILE.streams[0]
    assert plan.file_bytes[0] >= four_k.rate_bytes_s * STREAM_SPAN_S
    assert plan.file_bytes[0] < four_k.rate_bytes_s * STREAM_SPAN_S + 2**20
    assert plan.file_bytes[4] == plan.file_bytes[0]  # the incoming 4K
    assert [name for name, _ in plan.layout_files] == [
        show_stream_file_name(index) for index in range(1, 9)
    ]


def test_stream_files_shrink_together_to_fit_the_free_space() -> None:
    free_bytes = 40 * 10**9
    plan = ShowPatternPlan.for_profile(DEFAULT_PROFILE, 1.0, free_bytes)

    assert plan.span_s < STREAM_SPAN_S
    assert plan.scratch_bytes <= FREE_SPACE_SHARE * free_bytes + len(plan.file_bytes) * 2**20
    assert "before a stream re-reads" in plan.describe_files()


def test_tiny_scale_files_keep_the_minimum_size() -> None:
    plan = ShowPatternPlan.for_profile(DEFAULT_PROFILE, 0.001, PLENTY_FREE_BYTES)

    assert all(size >= MINIMUM_FILE_BYTES for size in plan.file_bytes)


def test_a_phase_replay_starts_each_crossfade_on_its_own_files_where_the_last_stopped() -> None:
    plan = ShowPatternPlan.for_profile(DEFAULT_PROFILE, 1.0, PLENTY_FREE_BYTES)
    finale = plan.phase("finale")

    streams = phase_streams(finale, plan.file_bytes)

    continuous = [stream for stream in streams if stream.start_s == 0]
    incoming = [stream for stream in streams if stream.start_s > 0]
    assert [stream.file_name for stream in continuous] == [
        show_stream_file_name(index) for index in range(1, 5)
    ]
    assert len(incoming) == 4 * len(finale.crossfade_starts_s)
    assert {stream.file_name for stream in incoming} == {
        show_stream_file_name(index) for index in range(5, 9)
    }
    assert all(stream.play_s == finale.crossfade_duration_s for stream in incoming)
    first_4k = [stream for stream in incoming if stream.file_name == show_stream_file_name(5)]
    offsets = [stream.offset_bytes for stream in first_4k]
    frame_bytes = first_4k[0].spec.frame_bytes
    assert offsets[0] == 0
    assert offsets[1] == frame_bytes * 150  # 5 s at 29.97 fps, rounded up to whole frames
    assert all(offset % frame_bytes == 0 for offset in offsets)
    assert all(stream.replay_bytes >= 3 * frame_bytes for stream in first_4k)
    assert first_4k[1].label == "crossfade 2 at 60 s: 4K (440 MB/s at 29.97 fps)"
    windows = continuous[0].peak_windows_ms
    assert windows[0] == (30_000.0, (30 + 5 + CROSSFADE_RECOVERY_S) * 1000)
    assert len(windows) == len(finale.crossfade_starts_s)


def test_phase_streams_of_a_custom_incoming_set() -> None:
    incoming = (StreamSpec(mb_s=100, fps=25, count=2),)
    phase = PhaseSpec(name="act", duration_s=600, crossfade_every_s=300, crossfade_streams=incoming)
    profile = DEFAULT_PROFILE.model_copy(update={"phases": (phase,)})
    plan = ShowPatternPlan.for_profile(profile, 1.0, PLENTY_FREE_BYTES)

    streams = phase_streams(plan.phases[0], plan.file_bytes)

    assert len(plan.file_bytes) == 4 + 2
    assert [stream.label for stream in streams if stream.start_s == 300] == [
        "crossfade 1 at 300 s: 100 MB/s at 25 fps #1",
        "crossfade 1 at 300 s: 100 MB/s at 25 fps #2",
    ]
