"""The project's own pytest configuration: what plain `pytest` at the root runs, and that its
strictness survives pytest-xdist, which bin/qlab-selftest runs the fast tier with."""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = REPO / "pyproject.toml"


def _pytest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PYTEST_", "QLAB_")) and name != "TOX_ENV_DIR"
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_plain_pytest_at_the_root_collects_the_tests_and_nothing_from_suites() -> None:
    # Collecting suites/ would make plain `pytest` a qualification of the system disk.
    result = _pytest("--collect-only", "-q", cwd=REPO)

    assert result.returncode == pytest.ExitCode.OK, result.stdout + result.stderr
    node_ids = [line for line in result.stdout.splitlines() if "::" in line]
    assert node_ids, result.stdout
    assert all(line.startswith("tests/") for line in node_ids), [
        line for line in node_ids if not line.startswith("tests/")
    ]
    assert "qlab volume" not in result.stdout, "the plugin became active: a qualification run"


@pytest.mark.parametrize(
    ("test_file", "expected"),
    [
        (
            "import warnings\n\ndef test_warns() -> None:\n"
            "    warnings.warn(UserWarning('stray warning'))\n",
            "*UserWarning: stray warning*",
        ),
        (
            "import pytest\n\n@pytest.mark.not_a_registered_marker\n"
            "def test_marked() -> None:\n    pass\n",
            "*'not_a_registered_marker' not found in `markers`*",
        ),
    ],
    ids=["filterwarnings-error", "strict-markers"],
)
def test_the_project_configuration_stays_strict_under_xdist(
    tmp_path: Path, test_file: str, expected: str
) -> None:
    # Our own pyproject.toml, on a file written here, across two workers as the fast tier runs.
    (tmp_path / "test_strict.py").write_text(test_file, encoding="utf-8")

    result = _pytest(
        "-c", str(PYPROJECT), "--rootdir", str(tmp_path), "-n", "2", "test_strict.py", cwd=tmp_path
    )

    output = result.stdout + result.stderr
    assert result.returncode != pytest.ExitCode.OK, output
    assert "created: 2/2 workers" in output, output
    assert any(fnmatch.fnmatch(line, expected) for line in output.splitlines()), output
