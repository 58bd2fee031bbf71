"""The drive history with real fio: a second run of the same folder names the first in the
terminal, the JSON and the HTML; a damaged, truncated, read-only, locked or full store costs one
warning line, leaves the reports and the exit code as without history, and stays byte-identical."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.once import once_per_run
from tests.integration.conftest import MainJob, MainJobRunner, Mounts, require_root

pytestmark = pytest.mark.integration

QUICK = ("-k", "sequential_read or advisory", "--qlab-stream", "1x10MB/s@25")
"""The read and the advisories only, against a show any disk plays: every run ends the same
way (NOT READY: the replays were not measured), whatever the disk's speed under load."""
PARTIAL = 1
VOLUME = "show"
"""Every run's volume folder is named so: the runs' items (named after the volume) then compare
with those of the one run without history that they share."""


@dataclass(frozen=True)
class WithoutHistory:
    """The QUICK run with the history off, and the folder its history would have gone to."""

    job: MainJob
    data_home: Path


def _run_without_history(workdir: Path) -> WithoutHistory:
    runner = MainJobRunner(workdir)
    volume = workdir / VOLUME
    volume.mkdir()
    return WithoutHistory(runner.run(volume, *QUICK, "--qlab-history", "off"), runner.data_home)


def quick_run_without_history(factory: pytest.TempPathFactory) -> WithoutHistory:
    """Made once for the whole test run: every test of a store that cannot be used compares its
    own run with it (here and in test_integration_history_postgres.py)."""
    return once_per_run(factory, "history-off", _run_without_history)


def _volume(tmp_path: Path) -> Path:
    volume = tmp_path / VOLUME
    volume.mkdir(exist_ok=True)
    return volume


def _history_lines(job: MainJob) -> list[str]:
    lines = [line.strip() for line in job.stdout.splitlines()]
    return [line for line in lines if line.startswith(("history", "WARN history"))]


def test_a_second_run_of_the_same_folder_names_the_first_everywhere(
    main_job: MainJobRunner, tmp_path: Path
) -> None:
    volume = tmp_path / "show"
    volume.mkdir()

    first = main_job.run(volume, *QUICK)
    second = main_job.run(volume, *QUICK)

    assert first.returncode == second.returncode == PARTIAL, second.output
    assert main_job.history_file.is_file()
    one, two = first.volume_report()["history"], second.volume_report()["history"]
    assert one["qualification"] == 1
    assert one["comparison"] is None
    assert two["qualification"] == 2
    assert two["drive_key"] == one["drive_key"]
    (earlier,) = two["runs"]
    assert earlier["run_id"] == one["run_id"]
    assert earlier["read_mb_s"] == first.volume_report()["measurements"]["read_mb_s"]
    assert earlier["rehearsal"] is True
    date = earlier["date_utc"][:10]
    sentence = two["comparison"]
    assert sentence.startswith(f"history: 2nd qualification of this drive ({two['drive']}); ")
    assert f"last {date} on " in sentence
    assert "(rehearsal, time scale 0.02)" in sentence
    assert sentence in second.stdout
    html = second.report_path().with_suffix(".html").read_text(encoding="utf-8")
    assert "Drive history" in html
    assert "data:image/svg+xml;base64," in html
    assert f"<td>{one['run_id']}</td>" in html
    assert second.outcomes()[
        f"test_preshow_advisory[{second.volume_report()['name']}-history]"
    ] == ("skipped")
    assert (
        f"stored {second.volume_report()['name']} as run {two['run_id']} in {main_job.history_file}"
        in (second.stdout)
    )


def test_history_off_stores_nothing(tmp_path_factory: pytest.TempPathFactory) -> None:
    run = quick_run_without_history(tmp_path_factory)
    job = run.job

    assert job.returncode == PARTIAL, job.output
    assert job.volume_report()["history"] is None
    assert not run.data_home.exists()
    assert _history_lines(job) == []


def _random_bytes(folder: Path) -> Path:
    path = folder / "history.sqlite3"
    path.write_bytes(os.urandom(256 * 1024))
    return path


def _truncated(folder: Path) -> Path:
    path = folder / "history.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE filler (data BLOB)")
        connection.executemany(
            "INSERT INTO filler VALUES (?)", [(os.urandom(4096),) for _ in range(64)]
        )
    connection.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


def _assert_as_without_history(job: MainJob, without: MainJob, store: Path, what: str) -> None:
    assert job.returncode == without.returncode == PARTIAL, job.output
    assert job.outcomes() == without.outcomes()
    assert job.volume_report()["history"] is None
    assert job.report_path().with_suffix(".html").is_file()
    assert "Traceback" not in job.output
    (warning,) = _history_lines(job)
    assert warning.startswith(f"WARN history {store} ")
    assert what in warning
    assert "not stored" in warning


@pytest.fixture
def without_history(tmp_path_factory: pytest.TempPathFactory) -> MainJob:
    return quick_run_without_history(tmp_path_factory).job


@pytest.mark.parametrize(
    ("damage", "what"), [(_random_bytes, "is damaged"), (_truncated, "is damaged")]
)
def test_a_damaged_store_costs_one_warning_and_stays_byte_identical(
    main_job: MainJobRunner, tmp_path: Path, without_history: MainJob, damage: object, what: str
) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    assert callable(damage)
    store: Path = damage(folder)
    before = store.read_bytes()

    job = main_job.run(_volume(tmp_path), *QUICK, "--qlab-history", str(store))

    _assert_as_without_history(job, without_history, store, what)
    assert store.read_bytes() == before
    assert sorted(folder.iterdir()) == [store]  # no journal or WAL left beside it


def test_a_store_locked_by_another_process_costs_one_warning(
    main_job: MainJobRunner, tmp_path: Path, without_history: MainJob
) -> None:
    folder = tmp_path / "store"
    first = main_job.run(_volume(tmp_path), *QUICK, "--qlab-history", str(folder / "h.sqlite3"))
    store = folder / "h.sqlite3"
    assert first.volume_report()["history"]["qualification"] == 1
    before = store.read_bytes()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "time.sleep(300)\n",
            str(store),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        job = main_job.run(_volume(tmp_path), *QUICK, "--qlab-history", str(store))
    finally:
        holder.kill()
        holder.communicate()

    _assert_as_without_history(job, without_history, store, "is locked by another program")
    assert store.read_bytes() == before


@pytest.mark.needs_root
def test_a_store_in_a_read_only_folder_costs_one_warning(
    main_job: MainJobRunner, tmp_path: Path, without_history: MainJob, mounts: Mounts
) -> None:
    require_root("a read-only bind mount")
    source = tmp_path / "source"
    stored = main_job.run(_volume(tmp_path), *QUICK, "--qlab-history", str(source / "h.sqlite3"))
    assert stored.volume_report()["history"]["qualification"] == 1
    with sqlite3.connect(source / "h.sqlite3") as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    folder = mounts.read_only_bind("read-only", source)
    store = folder / "h.sqlite3"
    before = store.read_bytes()

    job = main_job.run(_volume(tmp_path), *QUICK, "--qlab-history", str(store))

    _assert_as_without_history(job, without_history, store, "cannot be written (read-only)")
    assert store.read_bytes() == before


def _fill(disk: Path, leave_bytes: int) -> None:
    """Write a filler file until the disk refuses (ENOSPC), then give back `leave_bytes`."""
    filler = disk / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    refused: OSError | None = None
    try:
        while True:
            os.write(descriptor, b"\xff" * 4096)
    except OSError as exc:
        refused = exc
    finally:
        os.close(descriptor)
    assert refused is not None
    assert refused.errno == errno.ENOSPC, refused
    os.truncate(filler, filler.stat().st_size - leave_bytes)


@pytest.mark.needs_root
@pytest.mark.parametrize(
    "room_bytes", [0, 40 * 1024], ids=["no-room-at-all", "room-to-read-not-to-store"]
)
def test_a_store_on_a_full_disk_costs_one_warning_and_keeps_its_runs(
    main_job: MainJobRunner,
    tmp_path: Path,
    without_history: MainJob,
    mounts: Mounts,
    room_bytes: int,
) -> None:
    """The store on a 1 MiB tmpfs holding one earlier run, the rest filled up. With no room at
    all SQLite fails sizing its shared-memory index when the store is opened (an I/O error, not
    damage); with 40 kB left the store opens and the drive's past is read (SQLite's index takes
    32 kB), but the run's JSON report (about 50 kB) does not fit in the WAL: the write itself
    meets the full disk."""
    require_root("a tmpfs")
    disk = mounts.tmpfs("history-disk", "1m")
    store = disk / "h.sqlite3"
    first = main_job.run(_volume(tmp_path), *QUICK, "--qlab-history", str(store))
    earlier = first.volume_report()["history"]
    assert earlier["qualification"] == 1, first.output
    assert sorted(disk.iterdir()) == [store]  # the WAL was checkpointed into it and removed
    before = store.read_bytes()
    _fill(disk, room_bytes)
    assert shutil.disk_usage(disk).free == room_bytes

    job = main_job.run(_volume(tmp_path), *QUICK, "--qlab-history", str(store))

    assert job.returncode == without_history.returncode == PARTIAL, job.output
    assert job.outcomes() == without_history.outcomes()
    assert job.report_path().with_suffix(".html").is_file()
    assert "Traceback" not in job.output
    history = job.volume_report()["history"]
    if room_bytes:
        assert history["qualification"] == 2
        assert [run["run_id"] for run in history["runs"]] == [earlier["run_id"]]
        assert history["run_id"] is None
        (comparison, warning) = _history_lines(job)
        assert comparison == history["comparison"]
    else:
        assert history is None
        (warning,) = _history_lines(job)
    assert warning == (
        f"WARN history {store} is full (no space left): this run was not stored; free some "
        "space on its disk and the next run stores again"
    )
    assert store.read_bytes() == before
    (disk / "filler").unlink()
    with sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True) as connection:
        assert connection.execute("PRAGMA quick_check").fetchall() == [("ok",)]
        stored = connection.execute("SELECT id, read_mb_s FROM qlab_runs").fetchall()
    connection.close()
    assert stored == [(earlier["run_id"], first.volume_report()["measurements"]["read_mb_s"])]
