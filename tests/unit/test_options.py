from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from pytest_qlab.core.options import (
    QlabOptions,
    non_empty_path,
    rating_level,
    throttle_drop_percent,
    throttle_time,
    time_scale,
)
from pytest_qlab.core.verdict import Rating
from pytest_qlab.modes.sustained import SustainedPlan


@pytest.mark.parametrize(("text", "value"), [("1", 1.0), ("0.01", 0.01), (" 0.5 ", 0.5)])
def test_time_scale_accepts(text: str, value: float) -> None:
    assert time_scale(text) == value


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "abc", "nan", "inf", ""])
def test_time_scale_rejects_with_what_to_give(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        time_scale(text)

    message = str(caught.value)
    assert repr(text) in message
    assert "give a number above 0 and at most 1" in message


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("Acceptable", Rating.ACCEPTABLE),
        ("excellent", Rating.EXCELLENT),
        (" EXCELLENT ", Rating.EXCELLENT),
    ],
)
def test_rating_level_accepts(text: str, level: Rating) -> None:
    assert rating_level(text) is level


@pytest.mark.parametrize("text", ["insufficient", "great", ""])
def test_rating_level_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="use acceptable or excellent"):
        rating_level(text)


def test_non_empty_path() -> None:
    assert non_empty_path("/Volumes/Show") == "/Volumes/Show"
    with pytest.raises(argparse.ArgumentTypeError, match="empty path"):
        non_empty_path("  ")


@pytest.mark.parametrize(("scale", "rehearsal"), [(1.0, False), (0.5, True), (0.01, True)])
def test_rehearsal_is_any_scale_below_one(scale: float, rehearsal: bool) -> None:
    options = QlabOptions(
        volumes=(),
        profile="default",
        fio=None,
        time_scale=scale,
        require=Rating.ACCEPTABLE,
        report_dir=Path("reports"),
        keep_files=False,
    )

    assert options.rehearsal is rehearsal


@pytest.mark.parametrize(("text", "fraction"), [("20", 0.20), ("5.5", 0.055), ("90", 0.90)])
def test_throttle_drop_is_a_percent(text: str, fraction: float) -> None:
    assert throttle_drop_percent(text) == pytest.approx(fraction)


@pytest.mark.parametrize("text", ["0", "0.5", "95", "-20", "twenty", "nan"])
def test_throttle_drop_rejects_with_the_range(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="1 to 90"):
        throttle_drop_percent(text)


@pytest.mark.parametrize("text", ["0", "-1", "7200", "soon", "inf"])
def test_throttle_time_rejects_with_the_range(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="1 to 3600"):
        throttle_time(text)


def test_throttle_settings_reach_the_long_runs_plan(tmp_path: Path) -> None:
    from pytest_qlab.core.profiles import DEFAULT_PROFILE
    from pytest_qlab.core.session import QlabSession
    from pytest_qlab.fio.runner import FioBinary

    options = QlabOptions(
        volumes=(),
        profile="default",
        fio=None,
        time_scale=1.0,
        require=Rating.ACCEPTABLE,
        report_dir=tmp_path,
        keep_files=False,
        throttle_drop_fraction=throttle_drop_percent("35"),
        throttle_min_s=throttle_time("120"),
    )
    fio = FioBinary(Path("/usr/bin/fio"), (3, 33), "fio-3.33")
    session = QlabSession(options=options, targets=(), fio=fio, profile=DEFAULT_PROFILE)

    settings = SustainedPlan.for_options(session.options).throttle

    assert settings.drop_fraction == pytest.approx(0.35)
    assert settings.min_duration_s == pytest.approx(120)
