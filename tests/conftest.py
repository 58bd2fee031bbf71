"""The timing tests measure the disk: they run in one process, one after the other.

A test marked `timing` asserts on frame deadlines or throughput (a replay without a dropped
frame, throttling seen in the windows, a read held to a cgroup limit). Two at once, or one
beside other fio runs, would slow each other and fail for the wrong reason. bin/qlab-selftest
runs everything else with `pytest-xdist -n auto` (integration tests that only need fio to run:
refusals, faults, signals, locks, reports) and then the timing tests alone, so a run that
spreads timing tests over several workers errors on each of them with what to do, instead of
measuring nonsense.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Every qualification run a test starts (pytester, the main job, a shared setup check)
    inherits this: the drive history goes to a folder of this session, never to the
    developer's own history in their data folder."""
    if "QLAB_TEST_DATA_HOME" not in os.environ:
        os.environ["QLAB_TEST_DATA_HOME"] = tempfile.mkdtemp(prefix="pytest-qlab-data-")
    os.environ["XDG_DATA_HOME"] = os.environ["QLAB_TEST_DATA_HOME"]
    if os.environ.get("PYTHONDONTWRITEBYTECODE") and "PYTHONPYCACHEPREFIX" not in os.environ:
        # The tests start hundreds of Pythons (inner pytest runs, main jobs). Without cached
        # bytecode each one compiled pytest-qlab again and pytest rewrote its asserts anew, 0.3 s
        # of CPU a run: they share a cache of this session's, outside the source tree.
        prefix = tempfile.mkdtemp(prefix="pytest-qlab-pycache-")
        os.environ["PYTHONPYCACHEPREFIX"] = prefix
        del os.environ["PYTHONDONTWRITEBYTECODE"]
        config.add_cleanup(lambda: shutil.rmtree(prefix, ignore_errors=True))
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # Started with Ctrl-C ignored (by GNU time, nohup, a CI runner's background job), every
        # run a test starts would inherit that, and the Ctrl-C tests would see runs that never
        # stop. A handler of our own is reset to the default in each child, as from a terminal.
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_runtest_setup(item: pytest.Item) -> None:
    # The worker's own input, not $PYTEST_XDIST_WORKER_COUNT: a pytest the tests start inherits it.
    workerinput: dict[str, Any] = getattr(item.config, "workerinput", {})
    workers = int(workerinput.get("workercount", 1))
    if workers > 1 and item.get_closest_marker("timing") is not None:
        pytest.fail(
            f"timing tests measure the disk and must run one at a time, not on {workers} "
            'xdist workers: run them with `pytest tests -m timing` (no -n), or add -m "not '
            'timing" to a run with -n (bin/qlab-selftest runs both tiers this way)',
            pytrace=False,
        )
