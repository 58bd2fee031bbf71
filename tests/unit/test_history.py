"""The drive history on SQLite in a temp folder: store and read back, migrations from the first
schema version, identity keys, the comparison sentence, the trend data and the advisory; and
the damaged, locked and read-only stores that must stay byte-identical."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from pytest_qlab.core.verdict import Rating
from pytest_qlab.drive import DriveInfo
from pytest_qlab.history import schema
from pytest_qlab.history import sqlite as sqlite_store
from pytest_qlab.history.compare import (
    comparison_sentence,
    history_advisory,
    history_report,
    ordinal,
    trend_points,
)
from pytest_qlab.history.errors import HistoryError
from pytest_qlab.history.identity import DriveKey, drive_key
from pytest_qlab.history.location import OFF, resolve, sqlite_location
from pytest_qlab.history.model import NewRun, RunFigures, StoredRun
from pytest_qlab.history.record import figures_of
from pytest_qlab.history.store import HistoryStore
from pytest_qlab.report.cli import main
from pytest_qlab.report.model import MediaReport, QlabReport
from tests.unit.test_report_cli import _report, _volume

SERIAL = DriveKey("serial", "Samsung SSD 990/S4EWNX0R123456", "S4EWNX0R123456", "Samsung SSD 990")


def figures(
    date: str = "2026-11-20T20:00:00Z",
    *,
    read: float | None = 2012.0,
    streams: int | None = 6,
    rating: str = "excellent",
    scale: float = 1.0,
    host: str = "FOH-Mac",
) -> RunFigures:
    return RunFigures(
        date_utc=date,
        host=host,
        volume_name="Show",
        volume_path="/Volumes/Show",
        qlab_version="0.1.0",
        fio_version="fio-3.33",
        profile="default",
        time_scale=scale,
        interrupted=False,
        rating=rating,
        ready=rating != "insufficient",
        read_mb_s=read,
        max_streams=streams,
        dropped_frames=0,
        throttled=None,
    )


def new_run(run: RunFigures, key: DriveKey = SERIAL) -> NewRun:
    measured = {"read_mb_s": run.read_mb_s, "max_streams": run.max_streams, "ok": True}
    return NewRun(key, run, measured, {"qlab": {"marker": run.date_utc}})


def test_a_run_is_stored_with_its_figures_measurements_and_report(tmp_path: Path) -> None:
    location = sqlite_location(tmp_path / "new" / "history.sqlite3")
    first = figures()
    with HistoryStore(location) as store:
        run_id = store.add(new_run(first))
        (stored,) = store.runs_of(SERIAL.key)
        found, document = store.report_of(run_id)

    assert stored.run_id == run_id
    assert stored.figures == first
    assert (stored.serial, stored.model, stored.key_kind) == (SERIAL.serial, SERIAL.model, "serial")
    assert document == {"qlab": {"marker": first.date_utc}}
    assert found == stored
    engine = create_engine(f"sqlite:///{location.sqlite_path}")
    with engine.connect() as connection:
        rows = connection.execute(select(schema.figures.c.name, schema.figures.c.value)).all()
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar_one()
    engine.dispose()
    assert sorted(rows) == [("max_streams", 6.0), ("read_mb_s", 2012.0)]  # numbers only
    assert mode == "wal"


def _media(dropped: int | None) -> MediaReport:
    return MediaReport(
        path="media/clip-01.mov",
        codec="ProRes 422 HQ",
        fourcc="apch",
        raster="1920x1080",
        fps=25.0,
        frames=250,
        duration_s=10.0,
        mean_mb_s=27.5,
        peak_mb_s=30.0,
        frames_played=None if dropped is None else 125,
        dropped_frames=dropped,
        worst_lateness_ms=None,
        latency_p999_ms=None,
        bytes_read=None,
    )


def test_a_run_is_stored_with_every_replays_drops_its_throttling_and_its_streams() -> None:
    measured = {
        "read_mb_s": 1611.0,
        "max_streams": 5,
        "normal_playback_dropped_frames": 0,
        "crossfade_peak_dropped_frames": 3,
        "sustained_read_throttled": False,
        "sustained_write_throttled": True,
    }
    volume = _volume("Show", Rating.ACCEPTABLE, **measured)
    volume.media = [_media(2), _media(None)]
    qlab = QlabReport.model_validate(_report(volume)["qlab"])
    bare = QlabReport.model_validate(_report(_volume("Bare", Rating.ACCEPTABLE))["qlab"])

    run = figures_of(
        qlab, qlab.volumes[0], host="FOH-Mac", date_utc="2026-12-01T00:00:00Z", qlab_version="1"
    )
    nothing = figures_of(
        bare, bare.volumes[0], host="FOH-Mac", date_utc="2026-12-01T00:00:00Z", qlab_version="1"
    )

    assert (run.read_mb_s, run.max_streams, run.rating, run.ready) == (
        1611.0,
        5,
        "acceptable",
        True,
    )
    assert run.dropped_frames == 5  # the crossfade's 3 and the show's own file's 2
    assert run.throttled is True
    assert (run.host, run.fio_version, run.profile, run.rehearsal) == (
        "FOH-Mac",
        "fio-3.33",
        "default",
        False,
    )
    assert (nothing.read_mb_s, nothing.max_streams, nothing.dropped_frames, nothing.throttled) == (
        None,
        None,
        None,
        None,
    )


def test_runs_come_back_oldest_first_and_by_drive(tmp_path: Path) -> None:
    other = DriveKey("volume-uuid", "1b2c", volume_uuid="1B2C")
    with HistoryStore(sqlite_location(tmp_path / "h.sqlite3")) as store:
        store.add(new_run(figures("2026-11-22T00:00:00Z", read=1611.0)))
        store.add(new_run(figures("2026-11-20T00:00:00Z")))
        store.add(new_run(figures(read=900.0), other))
        reads = [run.figures.read_mb_s for run in store.runs_of(SERIAL.key)]
        by_serial = store.find_runs("S4EWNX0R123456")
        by_uuid = store.find_runs("1b2c")
        listed = store.drives()

    assert reads == [2012.0, 1611.0]
    assert len(by_serial) == 2
    assert [run.figures.read_mb_s for run in by_uuid] == [900.0]
    assert {summary.drive_key: summary.runs for summary in listed} == {SERIAL.key: 2, other.key: 1}


def test_migration_from_the_first_schema_version_keeps_the_runs_and_fills_the_figures(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v1.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        schema.migrate(connection, str(path), up_to=1)
    engine.dispose()
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        drive_id = connection.execute(
            schema.drives.insert().values(drive_key=SERIAL.key, key_kind="serial")
        ).inserted_primary_key
        assert drive_id is not None
        run = new_run(figures())
        connection.execute(
            schema.runs.insert().values(
                drive_id=drive_id[0],
                rehearsal=False,
                measurements=json.dumps(run.measurements),
                report="{}",
                **{k: v for k, v in run.figures.__dict__.items()},
            )
        )
        assert schema.stored_version(connection) == 1
    engine.dispose()

    with HistoryStore(sqlite_location(path)) as store:
        (stored,) = store.runs_of(SERIAL.key)
        with store.engine.connect() as connection:
            version = schema.stored_version(connection)
            migrated = connection.execute(select(schema.figures.c.name)).scalars().all()

    assert version == schema.LATEST == 2
    assert stored.figures.read_mb_s == 2012.0
    assert sorted(migrated) == ["max_streams", "read_mb_s"]


def test_a_store_newer_than_this_version_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite3"
    HistoryStore(sqlite_location(path)).close()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE qlab_schema SET version = 99")
    connection.close()
    before = path.read_bytes()

    with pytest.raises(HistoryError, match="schema version 99, newer"):
        HistoryStore(sqlite_location(path))
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("drive", "kind", "described"),
    [
        (
            DriveInfo(serial="S4EW", model="Samsung T7", volume_uuid="AB-CD"),
            "serial",
            "serial S4EW",
        ),
        (DriveInfo(volume_uuid="AB-CD"), "volume-uuid", "volume UUID ab-cd"),
        (DriveInfo(), "mount-point", "mount point /Volumes/Show on FOH-Mac"),
        (None, "mount-point", "mount point /Volumes/Show on FOH-Mac"),
    ],
)
def test_the_drive_key_is_the_serial_else_the_volume_uuid_else_the_mount_point(
    drive: DriveInfo | None, kind: str, described: str
) -> None:
    key = drive_key(drive, "/Volumes/Show", "FOH-Mac")

    assert key.kind == kind
    assert key.describe() == described
    assert key.key.startswith(f"{kind}:")


def test_serial_keys_carry_the_model_so_two_makers_serials_stay_apart() -> None:
    one = drive_key(DriveInfo(serial="123", model="A"), "/", "h")
    two = drive_key(DriveInfo(serial="123", model="B"), "/", "h")

    assert one.key != two.key


def test_the_comparison_sentence_names_the_last_run_and_every_change() -> None:
    past = [figures("2026-10-01T00:00:00Z")] * 3 + [figures("2026-11-20T21:00:00Z")]
    now = figures("2026-12-01T00:00:00Z", read=1611.0, streams=5, rating="acceptable")

    assert comparison_sentence(SERIAL, past, now) == (
        "history: 5th qualification of this drive (serial S4EWNX0R123456); last 2026-11-20 "
        "on FOH-Mac: read 2012 → 1611 MB/s (-20 %), max streams 6 → 5, rating excellent → "
        "acceptable"
    )
    assert comparison_sentence(SERIAL, [], now) is None


def test_a_rehearsal_is_never_the_baseline_but_is_marked_when_it_is_all_there_is() -> None:
    full = figures("2026-11-01T00:00:00Z", read=2000.0)
    rehearsal = figures("2026-11-20T00:00:00Z", read=500.0, scale=0.02, host="Laptop")
    now = figures("2026-12-01T00:00:00Z", read=1900.0)

    with_full = comparison_sentence(SERIAL, [full, rehearsal], now)
    only_rehearsal = comparison_sentence(SERIAL, [rehearsal], now)

    assert with_full is not None
    assert only_rehearsal is not None
    assert "last 2026-11-01 on FOH-Mac: read 2000 → 1900 MB/s (-5 %)" in with_full
    assert with_full.endswith("1 rehearsal since, not compared")
    assert "last 2026-11-20 on Laptop (rehearsal, time scale 0.02): read 500" in only_rehearsal


@pytest.mark.parametrize(
    ("number", "word"),
    [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"), (21, "21st")],
)
def test_ordinals(number: int, word: str) -> None:
    assert ordinal(number) == word


def stored(run_id: int, run: RunFigures) -> StoredRun:
    return StoredRun(run_id, SERIAL.key, SERIAL.kind, SERIAL.serial, SERIAL.model, run)


def test_the_advisory_warns_beyond_15_percent_below_the_best_full_scale_run() -> None:
    interrupted = replace(figures(read=9000.0), interrupted=True)
    past = [
        stored(1, figures("2026-10-01T00:00:00Z", read=2000.0)),
        stored(2, figures(read=5000.0, scale=0.1)),  # a rehearsal's figure is never the best
        stored(3, interrupted),  # nor a partial run's
        stored(4, figures(read=1800.0)),
    ]

    warning = history_advisory(past, 1600.0)
    assert warning.severity == "warn"  # 20 % below 2000
    assert "20% below this drive's best full-scale qualification (run 1: 2000 MB/s on " in (
        warning.message
    )
    assert "2026-10-01 on FOH-Mac)" in warning.message
    assert history_advisory(past, 1750.0).severity == "ok"  # 12.5 % below
    assert history_advisory(past, None).severity == "skip"
    assert history_advisory(None, 1600.0).severity == "skip"
    only_rehearsal = [stored(1, figures(read=2000.0, scale=0.5))]
    assert history_advisory(only_rehearsal, 100.0).severity == "skip"


def test_the_trend_holds_every_qualification_in_order_with_this_run_last() -> None:
    past = [figures("2026-10-01T00:00:00Z"), figures("2026-11-01T00:00:00Z", scale=0.5)]
    now = figures("2026-12-01T00:00:00Z", read=1500.0, streams=None)

    points = trend_points(past, now)

    assert [(p.qualification, p.read_mb_s, p.max_streams, p.rehearsal) for p in points] == [
        (1, 2012.0, 6, False),
        (2, 2012.0, 6, True),
        (3, 1500.0, None, False),
    ]


def test_the_report_block_lists_the_last_ten_earlier_runs_newest_first(tmp_path: Path) -> None:
    with HistoryStore(sqlite_location(tmp_path / "h.sqlite3")) as store:
        for day in range(1, 13):
            store.add(new_run(figures(f"2026-11-{day:02d}T00:00:00Z", read=1000.0 + day)))
        past = store.runs_of(SERIAL.key)

    block = history_report("h", SERIAL, past, figures("2026-12-01T00:00:00Z"))

    assert block.qualification == 13
    assert [run.read_mb_s for run in block.runs] == [1012.0 - n for n in range(10)]
    assert block.best_read_mb_s == 1012.0
    assert len(block.trend) == 13


def test_the_default_store_is_in_the_user_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    location = resolve(None)

    assert location is not None
    assert location.sqlite_path == tmp_path / "pytest-qlab" / "history.sqlite3"
    assert resolve(OFF) is None
    shared = resolve("postgresql+psycopg://qlab:secret@inventory/qlab")
    assert shared is not None
    assert "secret" not in shared.label


def _damaged(path: Path, kind: str) -> None:
    if kind == "random bytes":
        path.write_bytes(os.urandom(64 * 1024))
        return
    with HistoryStore(sqlite_location(path)) as store:
        for day in range(1, 30):
            store.add(new_run(figures(f"2026-11-{day:02d}T00:00:00Z")))
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode = DELETE")
    connection.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("kind", ["random bytes", "truncated"])
def test_a_damaged_file_is_refused_and_left_byte_identical(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "history.sqlite3"
    _damaged(path, kind)
    before = sorted(tmp_path.iterdir()), path.read_bytes()

    with pytest.raises(HistoryError, match="is damaged") as raised:
        HistoryStore(sqlite_location(path))

    assert "left untouched and this run was not stored" in str(raised.value)
    assert (sorted(tmp_path.iterdir()), path.read_bytes()) == before


def test_the_history_command_lists_runs_plots_a_trend_and_compare_takes_run_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "h.sqlite3"
    with HistoryStore(sqlite_location(db)) as store:
        store.add(new_run(figures("2026-11-01T00:00:00Z", scale=0.02)))
        store.add(new_run(figures("2026-11-20T00:00:00Z", read=1611.0)))
    plot = tmp_path / "trend.svg"

    listed = main(["history", "--db", str(db), "--drive", "S4EWNX0R123456", "--plot", str(plot)])
    out = capsys.readouterr().out
    unknown = main(["history", "--db", str(db), "--drive", "NOPE"])
    missing_run = main(["compare", "7", "1", "--db", str(db)])
    err = capsys.readouterr().err

    assert listed == 0
    assert "run 1: 2026-11-01 00:00:00 UTC on FOH-Mac, excellent, read 2012 MB/s" in out
    assert "REHEARSAL (time scale 0.02)" in out
    assert "read 1611 MB/s, max streams 6, full scale" in out
    assert plot.read_bytes().startswith(b"<?xml")
    assert (unknown, missing_run) == (2, 2)
    assert "holds no drive 'NOPE'" in err
    assert "has no run 7" in err


def test_a_store_busy_without_waiting_is_tried_again_until_it_answers() -> None:
    """SQLite in WAL mode answers SQLITE_BUSY at once while another connection cleans up on
    close: the store tries again instead of losing the run."""
    answers: list[object] = [sqlite3.OperationalError("database is locked")] * 3 + [7]

    def work() -> int:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, int)
        return answer

    assert sqlite_store.retry_while_busy(work) == 7
    assert answers == []


def test_a_store_error_other_than_busy_is_not_tried_again() -> None:
    calls: list[int] = []

    def work() -> int:
        calls.append(1)
        raise sqlite3.DatabaseError("file is not a database")

    with pytest.raises(sqlite3.DatabaseError):
        sqlite_store.retry_while_busy(work)
    assert calls == [1]


def test_a_store_busy_for_longer_than_the_timeout_gives_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_S", 0.2)
    calls: list[int] = []

    def work() -> int:
        calls.append(1)
        raise sqlite3.OperationalError("database is locked")

    with pytest.raises(sqlite3.OperationalError):
        sqlite_store.retry_while_busy(work)
    assert 2 <= len(calls) <= 10
