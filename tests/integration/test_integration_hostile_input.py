"""Hostile or broken input the other tests leave out (issue 7 item 4): unusual but valid volume
paths are resolved and shown as given; `/`, a symlink to a device and absurd profiles are refused
with one sentence naming the problem, before anything is written. `--collect-only` keeps each run
to a second: refusals and the header come before any measurement."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.integration.conftest import MainJobRunner

pytestmark = pytest.mark.integration

UNUSUAL_NAME = "Show drive ünïcødé 🎭 (tour 2)"


def _header_volume_line(stdout: str) -> str:
    (line,) = [line for line in stdout.splitlines() if line.startswith("qlab volume ")]
    return line


@pytest.mark.parametrize("how", ["unicode-and-spaces", "symlink", "relative"])
def test_unusual_volume_paths_are_resolved_and_shown(
    tmp_path: Path, main_job: MainJobRunner, how: str
) -> None:
    real = tmp_path / UNUSUAL_NAME
    real.mkdir()
    given: str
    if how == "symlink":
        link = tmp_path / "show-link"
        link.symlink_to(real)
        given = str(link)
    elif how == "relative":
        given = os.path.relpath(real, main_job.workdir)
    else:
        given = str(real)

    run = main_job.run(given, "--collect-only")

    assert run.returncode == pytest.ExitCode.OK, run.output
    assert "Traceback" not in run.output
    line = _header_volume_line(run.stdout)
    assert f": {real} " in line, f"the resolved path is shown: {line}"
    if given != str(real):
        assert f"(given as {given})" in line, line
    assert not (real / ".pytest-qlab").exists(), "collecting must leave nothing on the volume"


def test_filesystem_root_is_refused(main_job: MainJobRunner) -> None:
    error = main_job.run("/").refusal()

    assert "'/' is the root of the system disk, not a show drive" in error
    assert "leave --volume out to test the system disk" in error
    assert not Path("/.pytest-qlab").exists()


def test_symlink_to_a_device_is_refused(tmp_path: Path, main_job: MainJobRunner) -> None:
    link = tmp_path / "Show"
    link.symlink_to("/dev/zero")

    error = main_job.run(str(link)).refusal()

    assert f"{str(link)!r} is a device, not a mounted volume" in error
    assert "never writes to raw devices" in error


STREAM = 'codec = "hq"\nraster = "1920x1080"\nfps = 25\n'


@pytest.mark.parametrize(
    ("stream", "field"),
    [
        ('codec = "hq"\nraster = "1920x1080"\nfps = 0\n', "streams.0.fps"),
        (STREAM + "count = -3\n", "streams.0.count"),
        (STREAM + "count = 1000000000\n", "streams.0.count"),
        ("mb_s = 1e12\nfps = 25\n", "streams.0.mb_s"),
    ],
    ids=["zero-fps", "negative-count", "billion-streams", "absurd-rate"],
)
def test_absurd_stream_values_are_refused(
    tmp_path: Path, main_job: MainJobRunner, stream: str, field: str
) -> None:
    profile = tmp_path / "absurd.toml"
    profile.write_text(f'name = "absurd"\n\n[[streams]]\n{stream}', encoding="utf-8")
    volume = tmp_path / "Show"
    volume.mkdir()

    error = main_job.run(volume, "--qlab-profile", str(profile)).refusal()

    assert f"profile {profile} is invalid" in error or "absurd.toml" in error, error
    assert field in error, error
    assert "fix the file" in error
    assert not any(volume.iterdir())


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ("[crossfade]\nduration_s = 1e9\n", "crossfade.duration_s"),
        ("[crossfade]\nevery_s = -5\n", "crossfade.every_s"),
        ('[[phases]]\nname = "forever"\nduration_s = 1e12\n', "phases.0.duration_s"),
    ],
    ids=["endless-crossfade", "negative-interval", "endless-phase"],
)
def test_absurd_durations_are_refused(
    tmp_path: Path, main_job: MainJobRunner, section: str, field: str
) -> None:
    profile = tmp_path / "absurd.toml"
    profile.write_text(f'name = "absurd"\n\n[[streams]]\n{STREAM}\n{section}', encoding="utf-8")
    volume = tmp_path / "Show"
    volume.mkdir()

    error = main_job.run(volume, "--qlab-profile", str(profile)).refusal()

    assert field in error, error
    assert not any(volume.iterdir())
