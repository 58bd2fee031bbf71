from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_qlab.report.paths import default_report_paths
from pytest_qlab.safety.volume import TargetVolume

# 2026-03-04 05:06:07 UTC
NOW = 1772600767.0


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Report names use local time; pin the zone so the expected stamp is fixed."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _target(mount_point: str, *, default: bool = False) -> TargetVolume:
    path = Path(mount_point)
    return TargetVolume(
        path=path, requested=mount_point, mount_point=path, is_system_default=default
    )


@pytest.mark.usefixtures("utc")
def test_one_volume() -> None:
    html, json = default_report_paths(Path("reports"), [_target("/Volumes/Show")], now=NOW)

    assert html == Path("reports/20260304-050607-Show.html")
    assert json == Path("reports/20260304-050607-Show.json")


@pytest.mark.usefixtures("utc")
def test_several_volumes_are_joined_with_plus() -> None:
    targets = [_target("/Volumes/Show"), _target("/Volumes/Backup"), _target("/", default=True)]

    html, json = default_report_paths(Path("/r"), targets, now=NOW)

    assert html.name == "20260304-050607-Show+Backup+system-temp.html"
    assert json.name == "20260304-050607-Show+Backup+system-temp.json"
    assert html.parent == json.parent == Path("/r")


@pytest.mark.usefixtures("utc")
@pytest.mark.parametrize(
    ("mount_point", "safe"),
    [
        ("/Volumes/Show Drive (2)", "Show_Drive_2"),
        ("/media/user/Cue:Main", "Cue_Main"),
        ("/Volumes/Sh+ow", "Sh_ow"),
        ("/Volumes/Spectacle é", "Spectacle"),
        ("/Volumes/v1.2_final-B", "v1.2_final-B"),
        ("/Volumes/???", "volume"),
    ],
)
def test_unsafe_characters_are_replaced(mount_point: str, safe: str) -> None:
    html, json = default_report_paths(Path("out"), [_target(mount_point)], now=NOW)

    assert html.name == f"20260304-050607-{safe}.html"
    assert json.stem == html.stem


def test_default_time_is_now() -> None:
    before = time.strftime("%Y%m%d-%H%M%S")
    html, _ = default_report_paths(Path("out"), [_target("/Volumes/Show")])
    after = time.strftime("%Y%m%d-%H%M%S")

    stamp = html.name.removesuffix("-Show.html")
    assert before <= stamp <= after
