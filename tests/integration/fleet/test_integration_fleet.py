"""The fleet end to end: real sshd, real fio client/server, two hosts' loop-mounted volumes.

Each run is the main job as a user types it (`--qlab-host ssh://alias/volume`, no --volume),
and each test checks that nothing is left on either host afterwards: no fio process (server or
worker) and nothing on the volumes.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import pytest

from pytest_qlab.core.profiles import load_profile
from pytest_qlab.modes.setup_check import SetupCheckPlan
from pytest_qlab.safety.volume import FREE_SPACE_MARGIN_BYTES, MARKER_NAME, ScratchMarker
from tests.helpers.fleet_hosts import (
    BAD_KEY_HOST,
    DOWN_HOST,
    FAKE_FIO_HOST,
    FAKE_FIO_VERSION,
    NO_FIO_HOST,
    FleetLab,
    nothing_left,
)
from tests.integration.conftest import (
    REPO,
    BlkioCgroup,
    MainJob,
    MainJobRunner,
    block_device_of,
)

pytestmark = [pytest.mark.integration, pytest.mark.needs_root]

LIGHT_PROFILE = """\
name = "two HD"
[[streams]]
codec = "422"
raster = "1920x1080"
fps = 25
count = 2
"""
"""Two 422 HD streams (about 2 x 30 MB/s): light enough for any host volume here."""
BAD_HOST_LIMIT_S = 30.0
SHOW_SCALE = "0.0005"
"""The show pattern is 2.5 h at full scale: 4.5 s of phases, its logged runs 33 % longer."""
LONG_SCALE = "0.00125"
"""The max sustained read and write are 2 h each at full scale: 9 s each, 7 windows of 1 s."""
RUN_TIMEOUT_S = 240.0


def fleet_command(main_job: MainJobRunner, lab: FleetLab, *args: str) -> list[str]:
    profile = main_job.workdir / "light.toml"
    profile.write_text(LIGHT_PROFILE, encoding="utf-8")
    return [
        sys.executable,
        "-m",
        "pytest",
        str(REPO / "suites"),
        "--qlab-ssh-config",
        str(lab.ssh_config),
        "--qlab-profile",
        str(profile),
        "--qlab-time-scale",
        "0.02",
        "--qlab-report-dir",
        str(main_job.report_dir),
        "--qlab-history",
        "off",
        "-m",
        "not capacity",
        "-p",
        "no:cacheprovider",
        *args,
    ]


def run_fleet(
    main_job: MainJobRunner, lab: FleetLab, *args: str, preexec_fn: Any = None
) -> MainJob:
    return main_job.run_command(
        fleet_command(main_job, lab, *args), preexec_fn=preexec_fn, timeout_s=RUN_TIMEOUT_S
    )


def _fio_client_of(pid: int) -> bool:
    """The main job (`pid`) runs `fio --client=...`: the hosts are measuring."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return False
    for child in children:
        with contextlib.suppress(psutil.Error):
            if any(arg.startswith("--client=") for arg in child.cmdline()):
                return True
    return False


def volumes_by_host(job: MainJob) -> dict[str, dict[str, Any]]:
    return {volume["host"]: volume for volume in job.report()["qlab"]["volumes"]}


def hosts_args(lab: FleetLab, *aliases: str) -> list[str]:
    return [arg for alias in aliases for arg in ("--qlab-host", lab.url(alias))]


def run_fleet_while(
    main_job: MainJobRunner, lab: FleetLab, act: Callable[[subprocess.Popen[str]], None]
) -> MainJob:
    """Both hosts' run, with `act` done a second into the measurements (once the run's own fio
    client talks to the hosts' servers); the run is killed if it does not end by itself."""

    def measuring_then_act(process: subprocess.Popen[str]) -> None:
        deadline = time.monotonic() + 60
        while not _fio_client_of(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lab.processes(("fio",)), "no fio server started on the hosts"
        assert _fio_client_of(process.pid), "the run never started measuring"
        time.sleep(1.0)
        act(process)

    return main_job.run_command_while(
        fleet_command(main_job, lab, *hosts_args(lab, "qlab-a", "qlab-b")),
        during=measuring_then_act,
        timeout_s=RUN_TIMEOUT_S,
    )


@pytest.mark.timing
def test_two_hosts_pass_together_and_leave_nothing(
    fleet_hosts: FleetLab, main_job: MainJobRunner
) -> None:
    job = run_fleet(
        main_job, fleet_hosts, *hosts_args(fleet_hosts, "qlab-a", "qlab-b"), "--qlab-frametimes"
    )
    assert job.returncode == 0, job.output
    volumes = volumes_by_host(job)
    assert set(volumes) == {"qlab-a", "qlab-b"}
    # every host's frames in the one CSV, whole rows although the hosts judge them at once
    frametimes = job.report()["qlab"]["frametimes"]
    with open(frametimes["path"], encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == frametimes["rows"]
    by_host = {volume["name"]: host for host, volume in volumes.items()}
    assert {row["volume"] for row in rows} == set(by_host)
    for name, host in by_host.items():
        measured = volumes[host]["measurements"]
        dropped = sum(int(row["dropped"]) for row in rows if row["volume"] == name)
        assert dropped == (
            measured["normal_playback_dropped_frames"] + measured["crossfade_peak_dropped_frames"]
        )
    assert all(float(row["latency_ms"]) >= 0 for row in rows if row["latency_ms"])
    for host, volume in volumes.items():
        assert volume["ready"], (host, volume["rating_reasons"])
        assert volume["path"] == str(fleet_hosts.volumes[host])
        measured = volume["measurements"]
        assert measured["read_mb_s"] > 0
        assert measured["normal_playback_dropped_frames"] == 0
        assert measured["normal_playback_bytes_read"] > 0
        # the host's df gives the volume's size, so its free space is judged, not skipped
        (free_space,) = (a for a in volume["advisories"] if a["name"] == "free-space")
        assert free_space["severity"] in ("ok", "warn", "fail"), free_space
        assert volume["drive"]["capacity_bytes"] > volume["drive"]["free_bytes"] > 0
    fleet = job.report()["qlab"]["fleet"]
    assert fleet["hosts"] == 2
    assert fleet["ready_hosts"] == 2
    assert "fleet: 2 of 2 hosts READY for Acceptable" in job.stdout
    html = Path(str(job.report_path()).removesuffix(".json") + ".html").read_text("utf-8")
    # on the first screen: before the hosts' verdict cards
    assert (
        0
        <= html.index("fleet: 2 of 2 hosts READY for Acceptable")
        < html.index('<h2 class="qlab-banner">')
    )
    assert nothing_left(fleet_hosts) == []


@pytest.mark.timing
def test_a_throttled_host_fails_while_the_other_passes(
    fleet_hosts: FleetLab, main_job: MainJobRunner, blkio_cgroup: BlkioCgroup
) -> None:
    """qlab-a's drive is held to 20 MB/s, below the two HD streams' ~61 MB/s: the host's sshd
    joins a blkio group whose one rule is on qlab-a's device, so every fio it starts is held."""
    blkio_cgroup.limit_read(block_device_of(fleet_hosts.volumes["qlab-a"]), 20_000_000)
    for daemon in fleet_hosts.daemons:
        assert daemon.process is not None
        (blkio_cgroup.path / "cgroup.procs").write_text(str(daemon.process.pid), "ascii")
    job = run_fleet(main_job, fleet_hosts, *hosts_args(fleet_hosts, "qlab-a", "qlab-b"))
    assert job.returncode != 0, job.output
    volumes = volumes_by_host(job)
    assert not volumes["qlab-a"]["ready"]
    assert volumes["qlab-a"]["measurements"]["read_mb_s"] < 25
    assert volumes["qlab-b"]["ready"], volumes["qlab-b"]["rating_reasons"]
    assert volumes["qlab-b"]["measurements"]["read_mb_s"] > 100
    assert "fleet: 1 of 2 hosts READY for Acceptable" in job.stdout
    assert nothing_left(fleet_hosts) == []


def _tcp(where: str) -> bool:
    """`ss` writes a TCP socket as address:port, a Unix one as its path (or @name)."""
    return not where.startswith(("/", "@")) and ":" in where


def test_ctrl_c_mid_run_leaves_nothing_on_either_host(
    fleet_hosts: FleetLab, main_job: MainJobRunner
) -> None:
    """Mid-run, no fio server listens on TCP (only on its Unix socket on the host) and every
    SSH forward listens on 127.0.0.1 only; Ctrl-C then leaves nothing on either host."""
    servers: dict[int, list[str]] = {}
    forwards: list[str] = []

    def look_then_interrupt(process: subprocess.Popen[str]) -> None:
        listening = fleet_hosts.listening()
        for server in fleet_hosts.processes(("fio",)):
            servers[server.pid] = listening.get(server.pid, [])
        for child in psutil.Process(process.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if child.name() == "ssh":
                    forwards.extend(w for w in listening.get(child.pid, []) if _tcp(w))
        process.send_signal(signal.SIGINT)

    job = run_fleet_while(main_job, fleet_hosts, look_then_interrupt)
    sockets = [where for found in servers.values() for where in found]
    assert sockets, f"no fio server listening: {servers}"
    assert not [where for where in sockets if _tcp(where)], servers
    assert len(forwards) >= 2, forwards  # one forward per host
    assert all(where.startswith("127.0.0.1:") for where in forwards), forwards
    assert job.returncode != 0
    assert "Traceback" not in job.stderr
    assert "INTERRUPTED" in job.stdout, job.stdout[-2000:]
    assert nothing_left(fleet_hosts) == []


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        (DOWN_HOST, "cannot be reached over SSH"),
        (BAD_KEY_HOST, "the SSH key was refused"),
        (NO_FIO_HOST, "has no fio on its PATH"),
        (FAKE_FIO_HOST, f"runs {FAKE_FIO_VERSION} but this machine runs fio-"),
    ],
)
def test_a_bad_host_is_one_line_naming_it(
    fleet_hosts: FleetLab, main_job: MainJobRunner, alias: str, expected: str
) -> None:
    started = time.monotonic()
    job = run_fleet(
        main_job,
        fleet_hosts,
        "--qlab-host",
        "ssh://qlab-a" + str(fleet_hosts.volumes["qlab-a"]),
        "--qlab-host",
        f"ssh://{alias}" + str(fleet_hosts.volumes["qlab-b"]),
    )
    assert time.monotonic() - started < BAD_HOST_LIMIT_S
    assert job.returncode != 0
    errors = [line for line in job.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, job.output
    assert alias in errors[0]
    assert expected in errors[0], errors[0]
    assert "Traceback" not in job.output
    assert nothing_left(fleet_hosts) == []


@pytest.mark.parametrize(
    ("volume", "expected"),
    [("missing", "does not exist"), ("read-only", "is not writable")],
)
def test_a_bad_host_volume_is_one_line_naming_it(
    fleet_hosts: FleetLab, main_job: MainJobRunner, volume: str, expected: str
) -> None:
    path = (
        fleet_hosts.read_only_volume
        if volume == "read-only"
        else fleet_hosts.volumes["qlab-b"] / "no-such-folder"
    )
    started = time.monotonic()
    job = run_fleet(
        main_job,
        fleet_hosts,
        *hosts_args(fleet_hosts, "qlab-a"),
        "--qlab-host",
        fleet_hosts.url("qlab-b", path),
    )
    assert time.monotonic() - started < BAD_HOST_LIMIT_S
    assert job.returncode != 0
    errors = [line for line in job.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, job.output
    assert "qlab-b" in errors[0]
    assert expected in errors[0], errors[0]
    assert "Traceback" not in job.output
    assert nothing_left(fleet_hosts) == []


@pytest.mark.timing
def test_a_host_that_drops_mid_run_is_interrupted_and_the_other_keeps_its_results(
    fleet_netns: FleetLab, main_job: MainJobRunner
) -> None:
    """qlab-a leaves the network (its link down) while the hosts measure; qlab-b goes on."""
    try:
        job = run_fleet_while(main_job, fleet_netns, lambda _process: fleet_netns.drop("qlab-a"))
    finally:
        fleet_netns.restore("qlab-a")
    assert job.returncode != 0
    assert "Traceback" not in job.output
    volumes = volumes_by_host(job)
    assert volumes["qlab-a"]["interrupted"], volumes["qlab-a"]
    assert not volumes["qlab-a"]["ready"]
    assert volumes["qlab-b"]["ready"], volumes["qlab-b"]["rating_reasons"]
    assert volumes["qlab-b"]["measurements"]["normal_playback_bytes_read"] > 0
    assert "qlab-a" in job.stdout
    assert "INTERRUPTED" in job.stdout
    # the dropped host's keeper hears no heartbeat and tidies up on its own
    assert nothing_left(fleet_netns, grace_s=30.0) == []


def test_the_json_names_each_host() -> None:
    """qlab.volumes[i].host is in the published schema."""
    schema = json.loads((REPO / "schema" / "qlab-report.schema.json").read_text("utf-8"))
    volume = schema["$defs"]["VolumeReport"]["properties"]
    assert "host" in volume
    assert "fleet" in schema["properties"]


SHARED_PROFILE = LIGHT_PROFILE.replace('name = "two HD"', 'name = "two HD"\nshared_storage = true')


def test_hosts_on_one_storage_need_room_for_all_of_their_files(
    fleet_hosts: FleetLab, main_job: MainJobRunner
) -> None:
    """Both aliases on qlab-a's volume, which the profile calls shared: room for one host's
    test files (and the margin) but not for two is refused before anything is written."""
    volume = fleet_hosts.volumes["qlab-a"]
    profile = main_job.workdir / "shared.toml"
    profile.write_text(SHARED_PROFILE, encoding="utf-8")
    plan = SetupCheckPlan.for_profile(load_profile(str(profile)), 0.02)
    keep_free = FREE_SPACE_MARGIN_BYTES + plan.scratch_bytes * 3 // 2
    filler = volume / "filler.bin"
    stats = os.statvfs(volume)
    subprocess.run(
        ["fallocate", "-l", str(stats.f_bavail * stats.f_frsize - keep_free), str(filler)],
        check=True,
    )
    try:
        job = run_fleet(
            main_job,
            fleet_hosts,
            "--qlab-profile",
            str(profile),
            "--qlab-host",
            fleet_hosts.url("qlab-a", volume),
            "--qlab-host",
            fleet_hosts.url("qlab-b", volume),
        )
    finally:
        filler.unlink()
    assert job.returncode != 0
    errors = [line for line in job.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, job.output
    assert "free but this run needs" in errors[0], errors[0]
    assert "Traceback" not in job.output
    assert nothing_left(fleet_hosts) == []


def test_the_long_mode_and_the_integrity_check_run_on_every_host(
    fleet_hosts: FleetLab, main_job: MainJobRunner
) -> None:
    """The max sustained read and write on both hosts at once (their throughput windows come
    from fio's status snapshots, handed back in the client's report), and the integrity check
    on each host."""
    job = run_fleet(
        main_job,
        fleet_hosts,
        *hosts_args(fleet_hosts, "qlab-a", "qlab-b"),
        "--qlab-time-scale",
        LONG_SCALE,
        "-m",
        "sustained or integrity",
    )
    assert "Traceback" not in job.output
    outcomes = job.outcomes()
    for host in ("qlab-a", "qlab-b"):
        assert outcomes[f"test_data_integrity[{host}]"] == "passed", job.output
        assert outcomes[f"test_sustained_read[{host}-acceptable]"] == "passed", job.output
        # judged on the host's own windows: under other load a real dip is a real finding
        assert outcomes[f"test_sustained_read_throttling[{host}]"] in ("passed", "failed")
        assert outcomes[f"test_sustained_write[{host}]"] == "passed", job.output
        windows = volumes_by_host(job)[host]["bandwidth_windows"]
        for measurement in ("sustained_read", "sustained_write"):
            (found,) = [item for item in windows if item["measurement"] == measurement]
            assert found["windows"] >= 5, found
            assert found["lowest_mb_s"] > 0
    assert nothing_left(fleet_hosts) == []


def test_the_show_pattern_plays_every_phase_on_every_host(
    fleet_hosts: FleetLab, main_job: MainJobRunner
) -> None:
    """Each phase on both hosts at once, judged per host as on a local volume: every phase's
    item is judged, and the show pattern's playback proof carries the host's frames."""
    job = run_fleet(
        main_job,
        fleet_hosts,
        *hosts_args(fleet_hosts, "qlab-a", "qlab-b"),
        "--qlab-time-scale",
        SHOW_SCALE,
        "-m",
        "show_pattern",
    )
    assert "Traceback" not in job.output
    outcomes = job.outcomes()
    for host in ("qlab-a", "qlab-b"):
        phases = [name for name in outcomes if name.startswith(f"test_phase[{host}-")]
        assert len(phases) >= 3, outcomes
        # every phase played on the host; a real late frame under other load may fail one
        assert all(outcomes[name] in ("passed", "failed") for name in phases), job.output
        normal = volumes_by_host(job)[host]["evidence"][0]
        (played,) = [
            proof
            for proof in normal["proofs"]
            if (proof["aspect"], proof["measurement"]) == ("playback", "show_pattern")
        ]
        assert played["frames"] > 0, played
    assert nothing_left(fleet_hosts) == []


def test_a_killed_run_s_folder_on_a_host_is_cleaned_at_that_host_s_next_run(
    fleet_hosts: FleetLab, main_job: MainJobRunner
) -> None:
    """What a host switched off mid-run keeps: its marked scratch folder, with a test file and
    the pid of a fio server that is long gone. The next run removes it and says so; a folder
    without our marker is left alone and named."""
    root = fleet_hosts.volumes["qlab-a"] / ".pytest-qlab"
    dead = root / "20261201-230000-4242-dead"
    dead.mkdir(parents=True)
    marker = ScratchMarker(
        run_id=dead.name, pid=4242, host="foh-mac", started_at="2026-12-01T23:00:00+0000"
    )
    (dead / MARKER_NAME).write_text(marker.model_dump_json(), encoding="utf-8")
    (dead / "sequential-read.bin").write_bytes(b"\0" * 1024 * 1024)
    (dead / "fio-server.pid").write_text("999999\n", encoding="ascii")
    stranger = root / "not-ours"
    stranger.mkdir()
    try:
        job = run_fleet(
            main_job, fleet_hosts, *hosts_args(fleet_hosts, "qlab-a", "qlab-b"), "-k", "write"
        )
        assert not dead.exists()
        assert stranger.is_dir()
        (volume,) = [v for v in job.report()["qlab"]["volumes"] if v["host"] == "qlab-a"]
        assert any("removed 1 scratch folder" in line for line in volume["cleanup"]), volume
        assert any("not-ours" in line for line in volume["cleanup"]), volume
    finally:
        stranger.rmdir()
        with contextlib.suppress(OSError):
            root.rmdir()
    assert nothing_left(fleet_hosts) == []
