from __future__ import annotations

import pytest

from pytest_qlab.verdict import BandwidthCheck, Rating, default_requirements, rate


def test_default_requirements() -> None:
    normal, peak = default_requirements()

    assert normal.required_mb_s == 656
    assert normal.level is Rating.ACCEPTABLE
    assert "440 MB/s" in normal.derivation
    assert "72 MB/s" in normal.derivation
    assert "656 MB/s" in normal.derivation
    assert peak.required_mb_s == 2100
    assert peak.level is Rating.EXCELLENT
    assert "2100 MB/s" in peak.derivation


def test_missed_check_states_measured_required_derivation_and_shortfall() -> None:
    normal, _ = default_requirements()
    check = BandwidthCheck("sequential read", normal, 492.0)

    message = check.message()

    assert not check.met
    assert check.shortfall_mb_s == pytest.approx(164.0)
    assert "sequential read 492.0 MB/s" in message
    assert "below the 656.0 MB/s Acceptable needs" in message
    assert normal.derivation in message
    assert "short by 164.0 MB/s (25 %)" in message


def test_met_check_has_no_shortfall() -> None:
    _, peak = default_requirements()
    check = BandwidthCheck("sequential read", peak, 2500.0)

    message = check.message()

    assert check.met
    assert check.shortfall_mb_s == 0.0
    assert "2500.0 MB/s meets the 2100.0 MB/s Excellent needs" in message
    assert peak.derivation in message
    assert "short by" not in message


def test_not_measured_is_insufficient_with_a_reason() -> None:
    decision = rate(None, default_requirements())

    assert decision.rating is Rating.INSUFFICIENT
    assert decision.reasons == ("sequential read was not measured",)


@pytest.mark.parametrize(
    ("read_mb_s", "expected", "reason_count"),
    [
        (655.9, Rating.INSUFFICIENT, 1),
        (656.0, Rating.ACCEPTABLE, 2),
        (700.0, Rating.ACCEPTABLE, 2),
        (2099.9, Rating.ACCEPTABLE, 2),
        (2100.0, Rating.EXCELLENT, 2),
        (5000.0, Rating.EXCELLENT, 2),
        (0.0, Rating.INSUFFICIENT, 1),
    ],
)
def test_rate_thresholds_are_inclusive(
    read_mb_s: float, expected: Rating, reason_count: int
) -> None:
    decision = rate(read_mb_s, default_requirements())

    assert decision.rating is expected
    assert len(decision.reasons) == reason_count


def test_rate_explains_why_excellent_was_missed() -> None:
    decision = rate(700.0, default_requirements())

    assert "meets the 656.0 MB/s" in decision.reasons[0]
    assert "below the 2100.0 MB/s Excellent needs" in decision.reasons[1]
    assert "short by 1400.0 MB/s (67 %)" in decision.reasons[1]


def test_rate_orders_requirements_by_level() -> None:
    normal, peak = default_requirements()

    assert rate(700.0, (peak, normal)) == rate(700.0, (normal, peak))


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
