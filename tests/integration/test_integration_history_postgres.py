"""The drive history on a real PostgreSQL, started for these tests as an unprivileged user in a
temp folder (Debian's `postgresql` package): the same behaviour as on SQLite (the history and
compare commands reading it by URL included), concurrent writers on PostgreSQL and SQLite, and an
unreachable server that costs one warning line."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_qlab.history.location import resolve
from pytest_qlab.history.store import HistoryStore
from tests.integration.conftest import MainJobRunner
from tests.integration.test_integration_history import (
    PARTIAL,
    QUICK,
    VOLUME,
    quick_run_without_history,
)

pytestmark = pytest.mark.integration

SERVER_USER = "nobody"
"""PostgreSQL refuses to run as root."""


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run does)")
    user = {} if os.geteuid() != 0 else {"user": SERVER_USER}
    base = Path(tempfile.mkdtemp(prefix="qlab-postgres-"))
    if user:
        shutil.chown(base, SERVER_USER)
    data, port = base / "data", _free_port()
    run = {"capture_output": True, "text": True, "timeout": 120, "check": False, **user}
    made = subprocess.run([initdb, "-D", str(data), "-A", "trust", "-U", "qlab"], **run)  # type: ignore[call-overload]
    if made.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"initdb could not make a cluster: {made.stderr.strip()[-300:]}")
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    started = subprocess.run(  # type: ignore[call-overload]
        [pg_ctl, "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"], **run
    )
    if started.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"PostgreSQL did not start: {started.stdout.strip()[-300:]}")
    try:
        yield f"postgresql+psycopg://qlab@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([pg_ctl, "-D", str(data), "-m", "immediate", "stop"], **run)  # type: ignore[call-overload]
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def fresh_database(postgres_url: str, request: pytest.FixtureRequest) -> str:
    """A database of its own for one test, so each starts from an empty history."""
    import psycopg

    name = "qlab_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50].lower()
    conninfo = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return postgres_url.rsplit("/", 1)[0] + f"/{name}"


def test_two_runs_on_postgresql_compare_as_on_sqlite(
    fresh_database: str, main_job: MainJobRunner, tmp_path: Path
) -> None:
    first = main_job.run(tmp_path, *QUICK, "--qlab-history", fresh_database)
    second = main_job.run(tmp_path, *QUICK, "--qlab-history", fresh_database)

    assert first.returncode == second.returncode == PARTIAL, second.output
    one, two = first.volume_report()["history"], second.volume_report()["history"]
    assert (one["qualification"], two["qualification"]) == (1, 2)
    assert two["runs"][0]["run_id"] == one["run_id"]
    assert two["comparison"] in second.stdout
    assert two["store"] == fresh_database  # no password in it to hide
    assert not main_job.data_home.exists()  # nothing went to the default file
    listed = _report_command("history", "--db", fresh_database)
    assert f"history {fresh_database}: 1 drive(s), 2 runs" in listed
    for run_id in (one["run_id"], two["run_id"]):
        assert f"  run {run_id}: " in listed
    compared = _report_command(
        "compare", str(one["run_id"]), str(two["run_id"]), "--db", fresh_database
    )
    assert f"run {one['run_id']} (" in compared
    assert f"run {two['run_id']} (" in compared


def _report_command(*arguments: str) -> str:
    """`python -m pytest_qlab.report ...`, as a rental house's office reads the shared history."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest_qlab.report", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


WRITER = """
import sys
from dataclasses import replace
from pytest_qlab.history.identity import DriveKey
from pytest_qlab.history.location import resolve
from pytest_qlab.history.model import NewRun, RunFigures
from pytest_qlab.history.store import HistoryStore

figures = RunFigures("2026-11-20T00:00:00Z", sys.argv[2], "Show", "/V", "0.1.0", "fio-3.33",
                     "default", 1.0, False, "excellent", True, 2000.0, 6, 0, None)
key = DriveKey("serial", "S1", "S1")  # one drive, so both writers create it at once
for number in range(25):
    with HistoryStore(resolve(sys.argv[1])) as store:
        store.add(NewRun(key, replace(figures, read_mb_s=float(number)), {"read_mb_s": number}))
"""


def _concurrent_writers(setting: str) -> None:
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, setting, host], stderr=subprocess.PIPE)
        for host in ("station-a", "station-b")
    ]
    errors = [writer.communicate(timeout=120)[1].decode() for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0], errors
    location = resolve(setting)
    assert location is not None
    with HistoryStore(location) as store:
        runs = store.runs_of("serial:S1")
        drives = store.drives()
    assert len(drives) == 1
    for host in ("station-a", "station-b"):
        reads = sorted(run.figures.read_mb_s or 0 for run in runs if run.figures.host == host)
        assert reads == [float(n) for n in range(25)]


def test_two_stations_write_one_postgresql_at_once_and_lose_nothing(fresh_database: str) -> None:
    _concurrent_writers(fresh_database)


def test_two_runs_write_one_sqlite_file_at_once_and_lose_nothing(tmp_path: Path) -> None:
    _concurrent_writers(str(tmp_path / "shared" / "history.sqlite3"))


def test_an_unreachable_server_costs_one_warning(
    main_job: MainJobRunner, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    url = f"postgresql+psycopg://qlab@127.0.0.1:{_free_port()}/qlab"
    volume = tmp_path / VOLUME
    volume.mkdir()

    job = main_job.run(volume, *QUICK, "--qlab-history", url)
    without = quick_run_without_history(tmp_path_factory).job

    assert job.returncode == without.returncode == PARTIAL, job.output
    assert job.outcomes() == without.outcomes()
    assert job.volume_report()["history"] is None
    warnings = [line for line in job.stdout.splitlines() if line.startswith("WARN history")]
    assert len(warnings) == 1, job.stdout
    assert warnings[0].startswith(f"WARN history {url} cannot be used (")
    assert "check the server, the URL and the network" in warnings[0]
