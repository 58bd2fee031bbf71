"""The setup check end to end with real fio on a folder that already holds the user's files: one
run (the shared `setup_check_run`, whose reports test_integration_report.py checks), whose verdict,
reports and clean-up are checked here, and which must leave every file the volume held exactly as
it was. The folder's name is full of what fio's job-file syntax reads specially, so the run also
proves fio never sees the volume's path."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_qlab.drive.advisories import ADVISORY_NAMES

if TYPE_CHECKING:
    from tests.integration.conftest import SetupCheckRun

pytestmark = pytest.mark.integration

SCRATCH_ROOT_NAME = ".pytest-qlab"
SETUP_CHECK_ITEMS = {
    "test_preshow_advisory",
    "test_sequential_write",
    "test_sequential_read",
    "test_normal_playback",
    "test_crossfade_playback",
    "test_max_stream_count",
}


def test_exit_code_follows_the_ready_flag(setup_check_run: SetupCheckRun) -> None:
    job = setup_check_run.job
    assert "Traceback" not in job.output, job.output
    assert job.returncode in (0, 1), job.output
    volume = job.volume_report()
    expected = 0 if volume["ready"] else 1
    assert job.returncode == expected, f"ready={volume['ready']}\n{job.output}"
    assert volume["rating"] in {"insufficient", "acceptable", "excellent"}
    if volume["ready"]:
        assert volume["rating"] in {"acceptable", "excellent"}
    assert job.report()["exitcode"] == job.returncode


def test_report_holds_the_measurements(setup_check_run: SetupCheckRun) -> None:
    job = setup_check_run.job
    document = job.report()
    qlab = document["qlab"]
    assert qlab["rehearsal"] is True
    assert qlab["time_scale"] == pytest.approx(0.02)
    assert qlab["interrupted"] is False
    volume = job.volume_report()
    assert volume["path"] == str(setup_check_run.volume.resolve())
    measurements = volume["measurements"]
    assert measurements["read_mb_s"] > 0, measurements
    assert measurements["write_mb_s"] > 0, measurements
    assert volume["rating_reasons"], "a verdict must say why"
    ran = {test["nodeid"].rsplit("::", 1)[-1].split("[", 1)[0] for test in document["tests"]}
    assert ran == SETUP_CHECK_ITEMS
    outcomes = job.outcomes()
    assert len(outcomes) == 6 + len(ADVISORY_NAMES) + 1, outcomes  # + the history's advisory
    assert "error" not in outcomes.values(), job.output
    html = job.report_path().with_suffix(".html")
    assert html.is_file(), f"no HTML report next to {job.report_path()}"
    assert f"report: {html.resolve()}" in job.stdout


def test_scratch_and_control_files_are_gone(setup_check_run: SetupCheckRun) -> None:
    job = setup_check_run.job
    assert not (setup_check_run.volume / SCRATCH_ROOT_NAME).exists(), "scratch folder left behind"
    assert job.leftovers_in_system_temp() == [], "fio control files left in the temp folder"


def test_user_files_are_untouched(setup_check_run: SetupCheckRun) -> None:
    before, after = setup_check_run.before, setup_check_run.after
    assert set(after) == set(before), (
        f"added: {sorted(set(after) - set(before))}, removed: {sorted(set(before) - set(after))}"
    )
    changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    assert changed == {}, changed
    for name, content in setup_check_run.user_files.items():
        assert before[name].size_bytes == len(content)
        assert before[name].mtime_ns == setup_check_run.user_files_mtime_ns
