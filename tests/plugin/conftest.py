"""Fixtures for the plugin's pytester tests: an inner project that runs the real setup-check suite.

Every inner run is a subprocess (the plugin installs signal handlers), its system temp folder is a
folder of the inner project so that the default volume and fio's control files stay inside it,
and after every run no scratch folder may be left anywhere in the project.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "suites" / "test_setup_check.py"
TIME_SCALE = "0.02"
"""Every measurement then takes about a second."""
INNER_TIMEOUT_S = 120.0
SCRATCH_ROOT_NAME = ".pytest-qlab"


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
def run_qlab(
    qlab_pytester: pytest.Pytester, report_dir: Path, system_temp: Path
) -> Callable[..., pytest.RunResult]:
    """Run the inner project in a subprocess: run_qlab(*args, defaults=True).

    With defaults, --qlab-time-scale and --qlab-report-dir are added unless args give their own.
    After the run, no new scratch folder and no fio control folder may remain.
    """

    def run(*args: str, defaults: bool = True) -> pytest.RunResult:
        extra: list[str] = []
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
