"""The one interface drive probes use to run programs: a missing or hung program is an answer."""

from __future__ import annotations

import shutil
import sys

import pytest

from pytest_qlab.drive.commands import run


def test_missing_program_is_a_result_not_an_exception() -> None:
    result = run(["pytest-qlab-no-such-program", "--version"], 5)

    assert result.missing
    assert not result.ran
    assert result.returncode is None
    assert result.describe() == "pytest-qlab-no-such-program: not installed"


def test_exit_code_and_output_are_kept() -> None:
    result = run([sys.executable, "-c", "import sys; print('out'); sys.exit(4)"], 10)

    assert result.ran
    assert not result.ok
    assert (result.returncode, result.stdout.strip()) == (4, "out")


def test_programs_run_in_the_c_locale() -> None:
    result = run([sys.executable, "-c", "import os; print(os.environ['LC_ALL'])"], 10)
    assert result.stdout.strip() == "C"


@pytest.mark.skipif(shutil.which("sleep") is None, reason="no sleep program")
def test_a_hung_program_times_out() -> None:
    result = run(["sleep", "5"], 0.2)

    assert not result.ran
    assert result.problem == "timed out after 0.2 s"
    assert result.describe() == "sleep: timed out after 0.2 s"
