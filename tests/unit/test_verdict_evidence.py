"""verdict.rate on Evidence: a level needs its read bandwidth AND a drop-free replay."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pytest_qlab.core.profiles import DEFAULT_PROFILE
from pytest_qlab.core.verdict import Evidence, Rating, RequirementKey, rate

REQUIREMENTS = DEFAULT_PROFILE.requirements()


def _rate(
    read_mb_s: float | None,
    normal: int | None,
    crossfade: int | None,
    max_streams: int | None = None,
    needed: int | None = None,
) -> tuple[Rating, tuple[str, ...]]:
    evidence = Evidence(
        read_mb_s=read_mb_s,
        dropped_frames={
            RequirementKey.NORMAL_PLAYBACK: normal,
            RequirementKey.CROSSFADE_PEAK: crossfade,
        },
        max_streams=max_streams,
        max_streams_needed=needed,
    )
    decision = rate(evidence, REQUIREMENTS)
    return decision.rating, decision.reasons


@pytest.mark.parametrize(
    ("read_mb_s", "normal", "crossfade", "expected"),
    [
        (656.0, 0, 5, Rating.ACCEPTABLE),
        (656.0, 1, 0, Rating.INSUFFICIENT),
        (655.9, 0, 0, Rating.INSUFFICIENT),
        (2100.0, 0, 0, Rating.EXCELLENT),
        (2100.0, 0, 1, Rating.ACCEPTABLE),
        (2099.9, 0, 0, Rating.ACCEPTABLE),
        (5000.0, 3, 0, Rating.INSUFFICIENT),
        (5000.0, 0, 0, Rating.EXCELLENT),
    ],
)
def test_a_level_needs_its_read_and_a_drop_free_replay(
    read_mb_s: float, normal: int, crossfade: int, expected: Rating
) -> None:
    rating, _ = _rate(read_mb_s, normal, crossfade)

    assert rating is expected


def test_dropped_frames_in_normal_playback_block_acceptable_whatever_the_read() -> None:
    rating, reasons = _rate(5000.0, 12, 0)

    assert rating is Rating.INSUFFICIENT
    assert "sequential read 5000.0 MB/s meets the 656.0 MB/s Acceptable needs" in reasons[0]
    assert reasons[1] == "normal playback replay dropped 12 frames (Acceptable needs none)"
    assert len(reasons) == 2, "Excellent is not judged once Acceptable is missed"


def test_dropped_frames_in_the_crossfade_block_excellent() -> None:
    rating, reasons = _rate(2500.0, 0, 4)

    assert rating is Rating.ACCEPTABLE
    assert reasons[1] == "normal playback replay: no dropped frame"
    assert "meets the 2100.0 MB/s Excellent needs" in reasons[2]
    assert reasons[3] == "crossfade replay dropped 4 frames (Excellent needs none)"


def test_a_missing_normal_replay_stops_below_acceptable() -> None:
    rating, reasons = _rate(5000.0, None, 0)

    assert rating is Rating.INSUFFICIENT
    assert reasons[1] == "normal playback replay was not measured (Acceptable needs it)"


def test_a_missing_crossfade_replay_stops_at_acceptable() -> None:
    rating, reasons = _rate(5000.0, 0, None)

    assert rating is Rating.ACCEPTABLE
    assert reasons[-1] == "crossfade replay was not measured (Excellent needs it)"


def test_replays_absent_from_the_evidence_count_as_not_measured() -> None:
    decision = rate(Evidence(read_mb_s=5000.0), REQUIREMENTS)

    assert decision.rating is Rating.INSUFFICIENT
    assert "normal playback replay was not measured" in decision.reasons[1]


def test_a_missing_read_stops_below_acceptable_even_with_clean_replays() -> None:
    rating, reasons = _rate(None, 0, 0)

    assert rating is Rating.INSUFFICIENT
    assert reasons == (
        "sequential read was not measured (Acceptable needs it)",
        "normal playback replay: no dropped frame",
    )


def test_too_few_streams_in_the_capacity_search_block_acceptable() -> None:
    rating, reasons = _rate(5000.0, 0, 0, max_streams=1, needed=2)

    assert rating is Rating.INSUFFICIENT
    assert reasons[-1] == ("plays only 1 of the heaviest stream without drops; the show plays 2")


@pytest.mark.parametrize(
    ("max_streams", "needed"), [(2, 2), (9, 2), (None, 2), (0, None), (None, None)]
)
def test_enough_or_no_capacity_evidence_does_not_block(
    max_streams: int | None, needed: int | None
) -> None:
    rating, reasons = _rate(5000.0, 0, 0, max_streams=max_streams, needed=needed)

    assert rating is Rating.EXCELLENT
    assert not any("plays only" in reason for reason in reasons)


def test_every_reason_for_a_missed_read_states_measured_required_and_shortfall() -> None:
    normal, _ = REQUIREMENTS

    rating, reasons = _rate(600.0, 0, 0)

    assert rating is Rating.INSUFFICIENT
    assert "600.0 MB/s is below the 656.0 MB/s Acceptable needs" in reasons[0]
    assert normal.derivation in reasons[0]
    assert "short by 56.0 MB/s (9 %)" in reasons[0]


def _clean(**changes: object) -> Evidence:
    base = Evidence(
        read_mb_s=5000.0,
        dropped_frames={RequirementKey.NORMAL_PLAYBACK: 0, RequirementKey.CROSSFADE_PEAK: 0},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_long_run_finding_breaks_the_requirement_it_names() -> None:
    normal = "show pattern, act-2: 4 frames dropped in normal playback"
    crossfade = "show pattern, finale: 2 frames dropped during crossfades"

    assert rate(
        _clean(findings={RequirementKey.CROSSFADE_PEAK: (crossfade,)}), REQUIREMENTS
    ).rating is (Rating.ACCEPTABLE)
    decision = rate(_clean(findings={RequirementKey.NORMAL_PLAYBACK: (normal,)}), REQUIREMENTS)
    assert decision.rating is Rating.INSUFFICIENT
    assert normal in decision.reasons


@pytest.mark.parametrize(
    ("lowest_mb_s", "expected"),
    [(655.0, Rating.INSUFFICIENT), (700.0, Rating.ACCEPTABLE), (2100.0, Rating.EXCELLENT)],
)
def test_the_lowest_sustained_window_must_carry_each_level(
    lowest_mb_s: float, expected: Rating
) -> None:
    decision = rate(_clean(sustained_read_mb_s=lowest_mb_s), REQUIREMENTS)

    assert decision.rating is expected
    assert any(reason.startswith("sustained read (lowest window)") for reason in decision.reasons)
