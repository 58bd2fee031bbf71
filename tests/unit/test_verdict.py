from __future__ import annotations

import pytest

from pytest_qlab.core.profiles import DEFAULT_PROFILE
from pytest_qlab.core.proof import BandwidthFigure, Measurement, Playback
from pytest_qlab.core.verdict import (
    BandwidthCheck,
    Evidence,
    Rating,
    Requirement,
    RequirementKey,
    rate,
)

CLEAN_REPLAYS = {
    RequirementKey.NORMAL_PLAYBACK: (Playback(Measurement.NORMAL_REPLAY, 60, 0),),
    RequirementKey.CROSSFADE_PEAK: (Playback(Measurement.CROSSFADE_REPLAY, 60, 0),),
}


def _default_requirements() -> tuple[Requirement, Requirement]:
    return DEFAULT_PROFILE.requirements()


def _clean(read_mb_s: float) -> Evidence:
    """Both replays drop-free: only the read bandwidth decides."""
    read = BandwidthFigure(Measurement.SEQUENTIAL_READ, read_mb_s)
    return Evidence(bandwidth=(read,), playback=CLEAN_REPLAYS)


def test_default_requirements() -> None:
    normal, peak = _default_requirements()

    assert normal.key is RequirementKey.NORMAL_PLAYBACK
    assert normal.required_mb_s == 656
    assert normal.level is Rating.ACCEPTABLE
    assert "1 x 440.0 + 3 x 72.0 MB/s" in normal.derivation
    assert "656.0 MB/s" in normal.derivation
    assert peak.key is RequirementKey.CROSSFADE_PEAK
    assert peak.required_mb_s == 2100
    assert peak.level is Rating.EXCELLENT
    assert "2100.0 MB/s" in peak.derivation
    assert "safety buffer" in peak.derivation


def test_missed_check_states_measured_required_derivation_and_shortfall() -> None:
    normal, _ = _default_requirements()
    check = BandwidthCheck("sequential read", normal, 492.0)

    message = check.message()

    assert not check.met
    assert check.shortfall_mb_s == pytest.approx(164.0)
    assert "sequential read 492.0 MB/s" in message
    assert "below the 656.0 MB/s Acceptable needs" in message
    assert normal.derivation in message
    assert "short by 164.0 MB/s (25 %)" in message


def test_met_check_has_no_shortfall() -> None:
    _, peak = _default_requirements()
    check = BandwidthCheck("sequential read", peak, 2500.0)

    message = check.message()

    assert check.met
    assert check.shortfall_mb_s == 0.0
    assert "2500.0 MB/s meets the 2100.0 MB/s Excellent needs" in message
    assert peak.derivation in message
    assert "short by" not in message


def test_check_exactly_at_the_requirement_is_met() -> None:
    normal, _ = _default_requirements()
    check = BandwidthCheck("sequential read", normal, 656.0)

    assert check.met
    assert check.shortfall_mb_s == 0.0


def test_nothing_measured_is_not_rated_never_insufficient() -> None:
    decision = rate(Evidence(), _default_requirements())

    assert decision.rating is Rating.INSUFFICIENT, "nothing proven"
    assert decision.not_rated is Rating.ACCEPTABLE
    assert decision.rated is None, "shown as NOT RATED: nothing failed"
    assert decision.reasons == (
        "Acceptable NOT RATED: nothing measured the read bandwidth and the normal set played "
        'frame by frame; add the setup check: pytest suites/ -m "setup_check"',
    )


@pytest.mark.parametrize(
    ("read_mb_s", "expected"),
    [
        (0.0, Rating.INSUFFICIENT),
        (655.9, Rating.INSUFFICIENT),
        (656.0, Rating.ACCEPTABLE),
        (700.0, Rating.ACCEPTABLE),
        (2099.9, Rating.ACCEPTABLE),
        (2100.0, Rating.EXCELLENT),
        (5000.0, Rating.EXCELLENT),
    ],
)
def test_rate_thresholds_are_inclusive(read_mb_s: float, expected: Rating) -> None:
    decision = rate(_clean(read_mb_s), _default_requirements())

    assert decision.rating is expected
    assert decision.not_rated is None, "every level judged was proven or disproved"


@pytest.mark.parametrize(
    ("read_mb_s", "levels_judged"),
    [(655.9, 1), (656.0, 2), (2099.9, 2), (2100.0, 2)],
)
def test_rate_gives_three_reasons_per_level_judged(read_mb_s: float, levels_judged: int) -> None:
    """Each level judged says something about its read and its replay, then which
    measurements proved or disproved it; judging stops at the first level missed."""
    decision = rate(_clean(read_mb_s), _default_requirements())

    assert len(decision.reasons) == 3 * levels_judged
    assert decision.reasons[1] == "normal playback replay: no dropped frame"
    if levels_judged == 2:
        assert decision.reasons[2] == (
            "Acceptable: normal playback proven by the sequential read "
            f"at {read_mb_s:.1f} MB/s and the normal playback replay with 0 of 60 frames dropped"
        )
        assert decision.reasons[4] == "crossfade replay: no dropped frame"


def test_rate_explains_why_acceptable_was_missed() -> None:
    decision = rate(_clean(492.0), _default_requirements())

    assert decision.rating is Rating.INSUFFICIENT
    assert "below the 656.0 MB/s Acceptable needs" in decision.reasons[0]
    assert "short by 164.0 MB/s (25 %)" in decision.reasons[0]
    assert decision.reasons[-1] == (
        "Acceptable missed: normal playback disproved by the sequential read at 492.0 MB/s"
    )
    assert not any("Excellent" in reason for reason in decision.reasons)


def test_rate_explains_why_excellent_was_missed() -> None:
    normal, peak = _default_requirements()

    decision = rate(_clean(700.0), (normal, peak))

    assert decision.rating is Rating.ACCEPTABLE
    assert "sequential read 700.0 MB/s meets the 656.0 MB/s" in decision.reasons[0]
    assert normal.derivation in decision.reasons[0]
    assert "below the 2100.0 MB/s Excellent needs" in decision.reasons[3]
    assert peak.derivation in decision.reasons[3]
    assert "short by 1400.0 MB/s (67 %)" in decision.reasons[3]


def test_rate_orders_requirements_by_level() -> None:
    normal, peak = _default_requirements()

    assert rate(_clean(700.0), (peak, normal)) == rate(_clean(700.0), (normal, peak))
    assert rate(_clean(2500.0), (peak, normal)).rating is Rating.EXCELLENT


def test_rating_meets_is_ordered() -> None:
    assert Rating.EXCELLENT.meets(Rating.ACCEPTABLE)
    assert Rating.EXCELLENT.meets(Rating.EXCELLENT)
    assert Rating.ACCEPTABLE.meets(Rating.ACCEPTABLE)
    assert not Rating.ACCEPTABLE.meets(Rating.EXCELLENT)
    assert not Rating.INSUFFICIENT.meets(Rating.ACCEPTABLE)
    assert Rating.INSUFFICIENT.meets(Rating.INSUFFICIENT)
    assert [r.rank for r in Rating] == [0, 1, 2]


def test_rating_label() -> None:
    assert Rating.ACCEPTABLE.label == "Acceptable"
    assert str(Rating.EXCELLENT) == "excellent"
