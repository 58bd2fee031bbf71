"""This machine as the fleet step's host (`--fleet-host self`): a throwaway sshd on 127.0.0.1,
with keys made in a temp folder, started by the bench itself. Being the bench's child, it and
every fio server it starts share the bench's blkio cap (--limit-mb-s), so both sides of the
comparison read the same steady device; an sshd started elsewhere would read the bare disk.
Root only: the sessions log in as the user running the bench, through the key made here."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
PRIVSEP_DIR = Path("/run/sshd")
ALIAS = "qlab-bench-self"
START_TIMEOUT_S = 10.0


@contextmanager
def self_host(volume: Path) -> Iterator[tuple[str, Path]]:
    """Yields the host address of `volume` and the ssh_config that reaches it."""
    if os.geteuid() != 0 or not SSHD.exists() or shutil.which("ssh-keygen") is None:
        raise SystemExit(
            f"bench: --fleet-host self needs root and OpenSSH's server ({SSHD}); "
            "give ssh://host/path of this machine instead"
        )
    PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pytest-qlab-bench-sshd-") as name:
        folder = Path(name)
        for key in ("host_key", "client_key"):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / key)],
                check=True,
            )
        shutil.copy(folder / "client_key.pub", folder / "authorized_keys")
        port = _free_port()
        (folder / "sshd_config").write_text(
            f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\n"
            f"AuthorizedKeysFile {folder / 'authorized_keys'}\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
            f"StrictModes no\nPidFile {folder / 'sshd.pid'}\n",
            encoding="ascii",
        )
        ssh_config = folder / "ssh_config"
        ssh_config.write_text(
            f"Host {ALIAS}\n  HostName 127.0.0.1\n  Port {port}\n  User {getpass.getuser()}\n"
            f"  IdentityFile {folder / 'client_key'}\n  IdentitiesOnly yes\n"
            f"  StrictHostKeyChecking no\n  UserKnownHostsFile {folder / 'known_hosts'}\n",
            encoding="ascii",
        )
        daemon = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(folder / "sshd_config")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for(port, daemon)
            yield f"ssh://{ALIAS}{volume.resolve()}", ssh_config
        finally:
            daemon.terminate()
            daemon.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for(port: int, daemon: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise SystemExit(f"bench: the bench's sshd ended at start (exit {daemon.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"bench: the bench's sshd did not listen on port {port} in time")
