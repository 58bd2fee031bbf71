"""Fixtures for the plugin's pytester tests: an inner project that runs the real setup-check suite.

Every inner run is a subprocess (the plugin installs signal handlers), its system temp folder is a
folder of the inner project so that the default volume and fio's control files stay inside it,
and after every run no scratch folder may be left anywhere in the project. A measuring run that
several tests each check one thing about is made once per session (`shared_setup_check`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.once import once_per_run

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "suites" / "test_setup_check.py"
TIME_SCALE = "0.02"
"""Every measurement then takes about a second."""
INNER_TIMEOUT_S = 120.0
SCRATCH_ROOT_NAME = ".pytest-qlab"


FIO_STAND_IN = """#!/bin/sh
# Answers only --version, as fio 3.33 does: enough for runs that collect but never measure.
if [ "$1" = "--version" ]; then echo fio-3.33; exit 0; fi
echo "fio stand-in: this test run was not meant to measure" >&2
exit 1
"""
MEASURES_NOTHING = ("--collect-only", "--co")


def scratch_folders(root: Path) -> set[Path]:
    return {path for path in root.rglob(SCRATCH_ROOT_NAME) if path.is_dir()}


@pytest.fixture
def qlab_pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """An inner project that declares QLAB_SUITES and holds a copy of the real setup check."""
    pytester.makeconftest("QLAB_SUITES = True")
    shutil.copy(SUITE, pytester.path)
    system_temp = pytester.path / "system-temp"
    system_temp.mkdir()
    # The inner run inherits it: without --volume it tests this folder, not the real /tmp.
    monkeypatch.setenv("TMPDIR", str(system_temp))
    monkeypatch.delenv("QLAB_FIO", raising=False)
    return pytester


@pytest.fixture
def system_temp(qlab_pytester: pytest.Pytester) -> Path:
    """What the inner run's tempfile.gettempdir() returns: its default volume."""
    return qlab_pytester.path / "system-temp"


@pytest.fixture
def report_dir(qlab_pytester: pytest.Pytester) -> Path:
    return qlab_pytester.path / "reports"


@pytest.fixture
def volume(qlab_pytester: pytest.Pytester) -> Path:
    """A folder to pass as --volume; on the same disk as the inner project."""
    path = qlab_pytester.path / "show-volume"
    path.mkdir()
    return path


@pytest.fixture
def fio_stand_in(qlab_pytester: pytest.Pytester) -> Path:
    """A fio that answers only --version: for inner runs that locate fio but never run it
    (collecting, the advisories), so they pass where fio is not installed."""
    stand_in = qlab_pytester.path / "fio-stand-in"
    stand_in.write_text(FIO_STAND_IN, encoding="ascii")
    stand_in.chmod(0o755)
    return stand_in


@pytest.fixture
def run_qlab(
    qlab_pytester: pytest.Pytester, report_dir: Path, system_temp: Path, fio_stand_in: Path
) -> Callable[..., pytest.RunResult]:
    """Run the inner project in a subprocess: run_qlab(*args, defaults=True).

    With defaults, --qlab-time-scale and --qlab-report-dir are added unless args give their own.
    A run that only collects gets a stand-in fio that answers --version, so it runs where fio
    is not installed. After the run, no new scratch folder and no fio control folder may remain.
    """

    def run(*args: str, defaults: bool = True) -> pytest.RunResult:
        extra: list[str] = []
        if any(arg in MEASURES_NOTHING for arg in args) and "--fio" not in args:
            extra += ["--fio", str(fio_stand_in)]
        if defaults and "--qlab-time-scale" not in args:
            extra += ["--qlab-time-scale", TIME_SCALE]
        if defaults and "--qlab-report-dir" not in args:
            extra += ["--qlab-report-dir", str(report_dir)]
        before = scratch_folders(qlab_pytester.path)
        result = qlab_pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", *extra, *args, timeout=INNER_TIMEOUT_S
        )
        left = scratch_folders(qlab_pytester.path) - before
        assert not left, f"scratch folders left behind: {sorted(map(str, left))}"
        control = sorted(system_temp.glob("pytest-qlab-control-*"))
        assert not control, f"fio control folders left behind: {control}"
        return result

    return run


@pytest.fixture
def load_json() -> Callable[[Path], dict[str, Any]]:
    def load(path: Path) -> dict[str, Any]:
        document = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(document, dict)
        return document

    return load


@pytest.fixture
def default_json(
    report_dir: Path, load_json: Callable[[Path], dict[str, Any]]
) -> Callable[[], dict[str, Any]]:
    """The one JSON report the run wrote into the report folder."""

    def find() -> dict[str, Any]:
        found = sorted(report_dir.glob("*.json"))
        assert len(found) == 1, f"expected one JSON report in {report_dir}, found {found}"
        return load_json(found[0])

    return find


@dataclass(frozen=True)
class SharedRun:
    """A measuring run of an inner project: its terminal output, volume, reports folder and JSON
    report."""

    result: pytest.RunResult
    volume: Path
    report_dir: Path
    report: dict[str, Any]


def _run_inner_project(project: Path, args: tuple[str, ...]) -> SharedRun:
    """What qlab_pytester and run_qlab do, in a folder that outlives one test: the real setup
    check without its capacity search, on a volume of its own, at TIME_SCALE."""
    shutil.copy(SUITE, project)
    (project / "conftest.py").write_text("QLAB_SUITES = True\n", encoding="utf-8")
    system_temp, volume, home = project / "system-temp", project / "show-volume", project / "home"
    for folder in (system_temp, volume, home):
        folder.mkdir()
    report_dir = project / "reports"
    environment = dict(os.environ, TMPDIR=str(system_temp), HOME=str(home), PY_COLORS="0")
    for name in ("QLAB_FIO", "PYTEST_ADDOPTS", "TOX_ENV_DIR"):
        environment.pop(name, None)
    command = [
        sys.executable,
        "-m",
        "pytest",
        f"--basetemp={project / 'basetemp'}",
        "-p",
        "no:cacheprovider",
        "--qlab-time-scale",
        TIME_SCALE,
        "--qlab-report-dir",
        str(report_dir),
        "--volume",
        str(volume),
        "-m",
        "not capacity",
        *args,
    ]
    started = time.monotonic()
    completed = subprocess.run(
        command,
        cwd=project,
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=INNER_TIMEOUT_S,
        check=False,
    )
    result = pytest.RunResult(
        completed.returncode,
        completed.stdout.splitlines(),
        completed.stderr.splitlines(),
        time.monotonic() - started,
    )
    left = scratch_folders(project)
    assert not left, f"scratch folders left behind: {sorted(map(str, left))}"
    control = sorted(system_temp.glob("pytest-qlab-control-*"))
    assert not control, f"fio control folders left behind: {control}"
    found = sorted(report_dir.glob("*.json"))
    assert len(found) == 1, f"expected one JSON report in {report_dir}, found {found}"
    report = json.loads(found[0].read_text(encoding="utf-8"))
    assert isinstance(report, dict)
    return SharedRun(result, volume, report_dir, report)


@pytest.fixture(scope="session")
def shared_setup_check(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[..., SharedRun]:
    """shared_setup_check(*args): the setup check without its capacity search (the slowest item,
    which the integration tests cover) plus `args`, run once for each `args` (for all xdist
    workers together), so the tests that each check one thing about the same run share it."""
    runs: dict[tuple[str, ...], SharedRun] = {}

    def run(*args: str) -> SharedRun:
        if args not in runs:
            key = hashlib.sha256("\0".join(args).encode()).hexdigest()[:12]
            runs[args] = once_per_run(
                tmp_path_factory,
                f"shared-setup-check-{key}",
                lambda project: _run_inner_project(project, args),
            )
        return runs[args]

    return run
