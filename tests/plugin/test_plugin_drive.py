"""The drive behind each volume in a whole qualification run: identity in the header, the
environment table and the JSON; pre-show advisories as test items. The macOS path runs here on
Linux with fake diskutil/smartctl/mdutil/pmset/tmutil programs and $QLAB_PLATFORM=darwin."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_qlab.drive.advisories import ADVISORY_NAMES
from pytest_qlab.history.compare import HISTORY_ADVISORY
from tests.helpers.fake_macos import MACOS, install_fake_macos

pytestmark = pytest.mark.integration


def _outcomes(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Advisory name -> its test entry in the JSON report."""
    return {
        test["metadata"]["advisory"]: test
        for test in document["tests"]
        if "test_preshow_advisory[" in test["nodeid"]
    }


def _environment(report_dir: Path) -> dict[str, Any]:
    (page,) = report_dir.glob("*.html")
    match = re.search(r'data-jsonblob="([^"]*)"', page.read_text(encoding="utf-8"))
    assert match, "no results data in the HTML report"
    environment = json.loads(html.unescape(match.group(1)))["environment"]
    assert isinstance(environment, dict)
    return environment


def test_linux_drive_identity_and_advisories_reach_header_environment_and_json(
    fio_stand_in: Path,
    run_qlab: Callable[..., pytest.RunResult],
    default_json: Callable[[], dict[str, Any]],
    report_dir: Path,
    volume: Path,
) -> None:
    result = run_qlab("--volume", str(volume), "-k", "advisory", "--fio", str(fio_stand_in))

    (volume_json,) = default_json()["qlab"]["volumes"]
    drive = volume_json["drive"]
    assert drive["platform"] == "linux"
    assert drive["mount_point"]
    assert drive["filesystem"]
    assert drive["free_bytes"] > 0
    summary_line = next(line for line in result.stdout.lines if line.startswith("qlab drive "))
    assert drive["filesystem"] in summary_line
    assert f"SMART {drive['smart_health']}" in summary_line
    environment = _environment(report_dir)
    assert environment["Drive"] == summary_line.split(": ", 1)[1]
    assert environment["Drive SMART"] == drive["smart_health"]

    # The drive history's advisory comes last: it compares the read, which -k left out here.
    every = [*ADVISORY_NAMES, HISTORY_ADVISORY]
    assert [advisory["name"] for advisory in volume_json["advisories"]] == every
    outcomes = _outcomes(default_json())
    assert sorted(outcomes) == sorted(every)
    assert outcomes[HISTORY_ADVISORY]["outcome"] == "skipped"
    for name in ("spotlight", "disk-sleep", "time-machine"):
        assert outcomes[name]["outcome"] == "skipped", name
        assert "macOS only" in outcomes[name]["call"]["longrepr"]
    assert outcomes["free-space"]["outcome"] in ("passed", "failed")
    assert outcomes["free-space"]["metadata"]["severity"] in ("ok", "warn", "fail")
    assert "Traceback" not in result.stdout.str()


def test_macos_show_drive_end_to_end_with_a_failing_smart_status(
    fio_stand_in: Path,
    run_qlab: Callable[..., pytest.RunResult],
    default_json: Callable[[], dict[str, Any]],
    report_dir: Path,
    volume: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An internal Apple SSD whose SMART status fails: the item fails, the rating is capped."""
    smart = json.loads((MACOS / "smartctl_x_j_apple_ssd_ap0512z_exit4.json").read_text("utf-8"))
    smart["smart_status"]["passed"] = False
    failing = tmp_path / "smartctl_failing.json"
    failing.write_text(json.dumps(smart), encoding="utf-8")
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    fake = install_fake_macos(
        fakes,
        monkeypatch,
        volume="handwritten_diskutil_info_show_exfat_usb.plist",
        whole_disks={"disk2": "diskutil_info_disk0_apple_silicon.plist"},
        smartctl=str(failing),  # an absolute path replaces the fixture folder
        smartctl_exit=8 | 4,
        tm_destinations="handwritten_tmutil_destinationinfo_show.txt",
        tm_status="tmutil_status_running_first_backup.txt",
    )
    monkeypatch.setenv("QLAB_PLATFORM", "darwin")

    result = run_qlab("--volume", str(volume), "-k", "advisory", "--fio", str(fio_stand_in))

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    assert "Traceback" not in output
    result.stdout.fnmatch_lines(["qlab drive *: APPLE SSD AP0512Z, *, exFAT, *, SMART failed"])
    result.stdout.re_match_lines([r"\s+WARN Spotlight indexing: .*sudo mdutil -i off /Volumes/"])
    result.stdout.re_match_lines([r"\s+SMART health: the drive reports SMART failing"])
    assert "diskutil info -plist disk2" in fake.logged()
    assert "mdutil -s /Volumes/Show" in fake.logged()

    document = default_json()
    outcomes = _outcomes(document)
    assert outcomes["smart"]["outcome"] == "failed"
    assert "SMART" in outcomes["smart"]["call"]["longrepr"]  # the finding, no traceback
    for name in ("spotlight", "time-machine", "filesystem", "free-space"):
        assert outcomes[name]["outcome"] == "passed", name  # warnings pass, and are listed
        assert outcomes[name]["metadata"]["severity"] == "warn", name
    (volume_json,) = document["qlab"]["volumes"]
    assert volume_json["drive"]["platform"] == "darwin"
    assert volume_json["drive"]["smart_health"] == "failed"
    assert volume_json["rating"] == "insufficient"
    assert volume_json["ready"] is False
    assert any(reason.startswith("SMART health: ") for reason in volume_json["rating_reasons"])
    assert _environment(report_dir)["Drive SMART"] == "failed"
    (page,) = report_dir.glob("*.html")
    assert 'class="qlab-advisories"' in page.read_text(encoding="utf-8")
