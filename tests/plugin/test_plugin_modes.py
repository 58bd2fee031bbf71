"""Which modes a run selects: `pytest suites/` is the setup check; the hours-long modes run only
when chosen with -m or by naming their file."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest

from tests.plugin.conftest import REPO


@pytest.fixture
def with_show_pattern(qlab_pytester: pytest.Pytester) -> pytest.Pytester:
    shutil.copy(REPO / "suites" / "test_show_pattern.py", qlab_pytester.path)
    return qlab_pytester


def _collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.stdout.lines if "::" in line and "[" in line]


def test_without_m_the_long_modes_are_left_out_and_the_user_is_told(
    with_show_pattern: pytest.Pytester, run_qlab: Callable[..., pytest.RunResult]
) -> None:
    result = run_qlab("--collect-only", "-q")

    items = _collected(result)
    assert items, result.stdout.str()
    assert not any("test_show_pattern" in item for item in items)
    assert any("test_setup_check" in item for item in items)
    result.stdout.fnmatch_lines(["setup check only: the show pattern (2.5 h)*"])
    result.stdout.fnmatch_lines(["*(7 deselected)*"])  # 5 phases, and the 2 media items


def test_m_show_pattern_selects_one_item_per_phase_in_show_order(
    with_show_pattern: pytest.Pytester, run_qlab: Callable[..., pytest.RunResult]
) -> None:
    result = run_qlab("--collect-only", "-q", "-m", "show_pattern")

    phases = [item.rsplit("-", 1)[-1].rstrip("]") for item in _collected(result)]
    assert [item.split("::")[0] for item in _collected(result)] == ["test_show_pattern.py"] * 5
    assert phases == ["open", "1", "intermission", "2", "finale"]  # house-open, act-1, ...


def test_naming_the_file_selects_it_without_m(
    with_show_pattern: pytest.Pytester, run_qlab: Callable[..., pytest.RunResult]
) -> None:
    result = run_qlab("--collect-only", "-q", "test_show_pattern.py")

    assert len(_collected(result)) == 5
    assert "setup check only" not in result.stdout.str()


def test_a_marker_expression_that_does_not_name_a_long_mode_leaves_it_out(
    with_show_pattern: pytest.Pytester, run_qlab: Callable[..., pytest.RunResult]
) -> None:
    """`-m "not capacity"` (the README's way to skip the capacity search) must not start the
    2.5-hour show pattern."""
    result = run_qlab("--collect-only", "-q", "-m", "not capacity")

    items = _collected(result)
    assert items, result.stdout.str()
    assert not any("test_show_pattern" in item for item in items)
    assert not any("test_max_stream_count" in item for item in items)
