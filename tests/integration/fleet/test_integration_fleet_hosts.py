"""The fleet lab itself: each alias behaves as its name says, over a real sshd and real fio, and
the leftover check finds a fio server a run left behind. The fleet's own tests rely on these."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.helpers.fleet_hosts import (
    BAD_KEY_HOST,
    CONNECT_TIMEOUT_S,
    DOWN_HOST,
    FAKE_FIO_HOST,
    FAKE_FIO_VERSION,
    GOOD_HOSTS,
    NO_FIO_HOST,
    FleetLab,
    free_port,
    nothing_left,
)

pytestmark = [pytest.mark.integration, pytest.mark.needs_root]

BAD_HOST_DEADLINE_S = 30.0
"""The fleet must name a bad host within 30 s; the lab's bad hosts fail well inside that."""


def local_fio_version() -> str:
    return subprocess.run(
        ["fio", "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_good_hosts_run_commands_and_the_same_fio_on_volumes_of_their_own(
    fleet_hosts: FleetLab,
) -> None:
    for alias in GOOD_HOSTS:
        assert fleet_hosts.ssh(alias, "true").returncode == 0, fleet_hosts.ssh(alias, "true")
        version = fleet_hosts.ssh(alias, "fio --version")
        assert version.returncode == 0, version.stderr
        assert version.stdout.strip() == local_fio_version()
    a, b = (fleet_hosts.volumes[alias] for alias in GOOD_HOSTS)
    assert os.path.ismount(a)
    assert os.path.ismount(b)
    assert os.stat(a).st_dev != os.stat(b).st_dev
    assert nothing_left(fleet_hosts, grace_s=0) == []


def test_the_read_only_volume_refuses_writes_over_ssh(fleet_hosts: FleetLab) -> None:
    volume = fleet_hosts.read_only_volume
    touched = fleet_hosts.ssh("qlab-a", f"touch {volume}/probe")
    assert touched.returncode != 0
    assert "Read-only file system" in touched.stderr
    assert os.path.ismount(volume)


def test_the_no_fio_host_has_a_working_shell_without_fio(fleet_hosts: FleetLab) -> None:
    version = fleet_hosts.ssh(NO_FIO_HOST, "fio --version")
    assert version.returncode == 127
    assert "fio: command not found" in version.stderr
    free = fleet_hosts.ssh(NO_FIO_HOST, f"df -P {fleet_hosts.volumes['qlab-a']}")
    assert free.returncode == 0, free.stderr
    assert fleet_hosts.ssh(NO_FIO_HOST, "command -v fio").returncode != 0


def test_the_fake_fio_host_reports_another_release_and_otherwise_runs_real_fio(
    fleet_hosts: FleetLab,
) -> None:
    version = fleet_hosts.ssh(FAKE_FIO_HOST, "fio --version")
    assert (version.returncode, version.stdout.strip()) == (0, FAKE_FIO_VERSION)
    probe = fleet_hosts.volumes["qlab-a"] / "probe"
    job = (
        f"fio --name=probe --filename={probe} --size=1m --bs=64k --rw=write "
        f"--output-format=json && rm {probe}"
    )
    ran = fleet_hosts.ssh(FAKE_FIO_HOST, job)
    assert ran.returncode == 0, ran.stderr
    assert f'"fio version" : "{local_fio_version()}"' in ran.stdout
    assert nothing_left(fleet_hosts, grace_s=0) == []


@pytest.mark.parametrize(
    ("alias", "message"),
    [(BAD_KEY_HOST, "Permission denied (publickey)"), (DOWN_HOST, "Connection refused")],
)
def test_bad_hosts_fail_fast_with_sshs_own_reason(
    fleet_hosts: FleetLab, alias: str, message: str
) -> None:
    started = time.monotonic()
    result = fleet_hosts.ssh(alias, "true")
    assert result.returncode == 255
    assert message in result.stderr
    assert time.monotonic() - started < BAD_HOST_DEADLINE_S


def test_a_fio_server_left_behind_is_found_then_removed(fleet_hosts: FleetLab) -> None:
    """A server started without a watchdog outlives its ssh (fleet-facts 5): the check must
    see it, with its port, and the lab must be able to remove it."""
    port = free_port()
    command = fleet_hosts.ssh_command("qlab-a", "-L", f"{free_port()}:127.0.0.1:{port}")
    session = subprocess.Popen(
        [*command, f"cd {fleet_hosts.volumes['qlab-a']} && fio --server=ip:127.0.0.1,{port}"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while not any(f"127.0.0.1:{port}" in line for line in nothing_left(fleet_hosts, grace_s=0)):
            assert time.monotonic() < deadline, "the remote fio server never listened"
            time.sleep(0.1)
    finally:
        session.kill()
        session.wait(timeout=10)
    left = nothing_left(fleet_hosts, grace_s=1)
    assert any(f"fio --server=ip:127.0.0.1,{port}" in line for line in left), left
    fleet_hosts.kill_leftovers()
    assert nothing_left(fleet_hosts, grace_s=5) == []


def test_namespace_hosts_have_their_own_network_and_can_drop_off_it(fleet_netns: FleetLab) -> None:
    a, b = (fleet_netns.namespaces[alias] for alias in GOOD_HOSTS)
    for alias, own, other in (("qlab-a", a, b), ("qlab-b", b, a)):
        addresses = fleet_netns.ssh(alias, "ip -4 -o addr show")
        assert addresses.returncode == 0, addresses.stderr
        assert own.address in addresses.stdout
        assert other.address not in addresses.stdout
        assert fleet_netns.ssh(alias, "fio --version").stdout.strip() == local_fio_version()
    fleet_netns.drop("qlab-a")
    started = time.monotonic()
    dropped = fleet_netns.ssh("qlab-a", "true")
    assert dropped.returncode == 255
    assert time.monotonic() - started < CONNECT_TIMEOUT_S + 5
    assert fleet_netns.ssh("qlab-b", "true").returncode == 0
    fleet_netns.restore("qlab-a")
    assert fleet_netns.ssh("qlab-a", "true").returncode == 0


def test_what_a_dropped_namespace_host_still_runs_is_found(fleet_netns: FleetLab) -> None:
    """A process a host runs when its link goes down lives on in its namespace: the lab
    still lists it."""
    session = subprocess.Popen(
        [*fleet_netns.ssh_command("qlab-a"), "exec sleep 300"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while not fleet_netns.processes(("sleep",)):
            assert time.monotonic() < deadline, "the remote sleep never started"
            time.sleep(0.1)
        fleet_netns.drop("qlab-a")
        time.sleep(0.5)
        assert [p.cmdline() for p in fleet_netns.processes(("sleep",))] == [["sleep", "300"]]
    finally:
        session.kill()
        session.wait(timeout=10)
    fleet_netns.kill_leftovers()
    assert fleet_netns.processes(("sleep",)) == []
