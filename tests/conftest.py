"""The integration tests measure the disk: they run in one process, one after the other.

bin/qlab-selftest runs the fast tier with `pytest-xdist -n auto` and the integration tier in a
pytest of its own. Two integration tests at once would halve each other's figures and fail for
the wrong reason, so a run that spreads them over several workers (`pytest -n 2 tests`) errors
on each of them with what to do, instead of measuring nonsense.
"""

from __future__ import annotations

from typing import Any

import pytest


def pytest_runtest_setup(item: pytest.Item) -> None:
    # The worker's own input, not $PYTEST_XDIST_WORKER_COUNT: a pytest the tests start inherits it.
    workerinput: dict[str, Any] = getattr(item.config, "workerinput", {})
    workers = int(workerinput.get("workercount", 1))
    if workers > 1 and item.get_closest_marker("integration") is not None:
        pytest.fail(
            f"integration tests measure the disk and must run one at a time, not on {workers} "
            'xdist workers: run them with `pytest tests -m integration` (no -n), or add -m "not '
            'integration" to a run with -n (bin/qlab-selftest runs both tiers this way)',
            pytrace=False,
        )
