"""Fixtures for the fleet tests: hosts reached over a real sshd, each with a loop-mounted ext4
volume of its own (tests/helpers/fleet_hosts.py says what each alias is).

    def test_two_hosts(fleet_hosts: FleetLab) -> None:
        run ... "--qlab-ssh-config", str(fleet_hosts.ssh_config),
                "--qlab-host", fleet_hosts.url("qlab-a"), "--qlab-host", fleet_hosts.url("qlab-b")
        assert not nothing_left(fleet_hosts)

`fleet_netns` is the same with qlab-a and qlab-b in network namespaces of their own, so
`fleet_netns.drop("qlab-a")` takes a host off the network mid-run. `make_fleet_lab` builds either
with another sshd ClientAliveInterval (0 is macOS's default: sshd never notices a dead client).
Without root, sshd, or namespaces the test is skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.fleet_hosts import (
    GOOD_HOSTS,
    FleetLab,
    LabUnavailable,
    require_tools,
    start_loopback_lab,
    start_namespace_lab,
)
from tests.integration.conftest import Mounts

VOLUME_MIB = 3 * 1024
"""Sparse images: only what is written takes disk space."""
READ_ONLY_MIB = 64

MakeLab = Callable[..., FleetLab]


@pytest.fixture
def make_fleet_lab(tmp_path: Path, mounts: Mounts) -> Iterator[MakeLab]:
    """`make_fleet_lab(namespaces=False, client_alive_interval_s=2)` -> a FleetLab; every lab
    made is closed (processes killed, daemons stopped, namespaces deleted) before the volumes
    are unmounted."""
    made: list[FleetLab] = []

    def make(*, namespaces: bool = False, client_alive_interval_s: int = 2) -> FleetLab:
        try:
            require_tools(namespaces=namespaces)
        except LabUnavailable as exc:
            pytest.skip(str(exc))
        index = len(made)
        volumes = {alias: mounts.loop_ext4(f"{alias}-{index}", VOLUME_MIB) for alias in GOOD_HOSTS}
        read_only = mounts.loop_ext4(f"read-only-{index}", READ_ONLY_MIB, options="ro")
        folder = tmp_path / f"fleet-{index}"
        folder.mkdir()
        start = start_namespace_lab if namespaces else start_loopback_lab
        try:
            lab = start(folder, volumes, read_only, client_alive_interval_s=client_alive_interval_s)
        except LabUnavailable as exc:
            pytest.skip(str(exc))
        made.append(lab)
        return lab

    try:
        yield make
    finally:
        problems = [problem for lab in made for problem in lab.close()]
        assert not problems, f"fleet lab not cleaned up: {problems}"


@pytest.fixture
def fleet_hosts(make_fleet_lab: MakeLab) -> FleetLab:
    """Every alias on one sshd on 127.0.0.1 (ClientAliveInterval 2, ClientAliveCountMax 2)."""
    return make_fleet_lab()


@pytest.fixture
def fleet_netns(make_fleet_lab: MakeLab) -> FleetLab:
    """qlab-a and qlab-b in network namespaces, one sshd each; bad-host aliases as in
    fleet_hosts."""
    return make_fleet_lab(namespaces=True)
