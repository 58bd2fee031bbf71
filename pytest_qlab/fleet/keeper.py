"""The one SSH session that holds everything a run has on a host: the volume and drive locks,
the scratch folder, fio's server and the port forward to it.

The keeper script on the host lives exactly as long as that session and tidies up when it
ends: stopped, interrupted, SIGKILLed, or cut off (no heartbeat for HEARTBEAT_TIMEOUT_S). fio's
server listens on a Unix socket inside the scratch folder (mode 0700) and is reached only
through this session's forward: no fio port is ever open on the network, since fio's server
authenticates nobody and runs any job it is sent.
"""

from __future__ import annotations

import contextlib
import queue
import secrets
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath

from pytest_qlab.fleet.errors import HostError
from pytest_qlab.fleet.ssh import SshHost, connection_problem
from pytest_qlab.safety.leftovers import LeftAlone, LeftoverCleanup, RemovedRun
from pytest_qlab.safety.volume import SCRATCH_ROOT_NAME, ScratchMarker
from pytest_qlab.safety.volume_lock import LockHolder

HEARTBEAT_S = 2.0
HEARTBEAT_TIMEOUT_S = 15
"""The host ends the run's share when it hears nothing for this long."""
ANSWER_TIMEOUT_S = 30.0
"""A bad host is reported within the 30 s a user waits for it."""
STOP_TIMEOUT_S = 20.0
DRIVE_LOCK_DIR = "/tmp/pytest-qlab-drives"


def _script() -> str:
    return resources.files("pytest_qlab.fleet").joinpath("keeper.pl").read_text(encoding="utf-8")


def free_local_port() -> int:
    """A port for the forward's local end, on 127.0.0.1 only."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class HostKeeper:
    ssh: SshHost
    volume: PurePosixPath
    """The volume's real path on the host."""
    run_id: str
    marker: ScratchMarker
    drive_key: str | None
    fleet_run: str = ""
    """The run's id, which every host's folder name starts with: never a leftover to clean."""
    lock_volume: bool = True
    """False where another host of this run already holds the same storage's lock."""
    local_port: int = field(default_factory=free_local_port)
    cleanup: LeftoverCleanup | None = None
    server_pid: int | None = None
    _process: subprocess.Popen[str] | None = None
    _lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    _write_lock: threading.Lock = field(default_factory=threading.Lock)
    _stopped: threading.Event = field(default_factory=threading.Event)

    @property
    def run_dir(self) -> PurePosixPath:
        return self.volume / SCRATCH_ROOT_NAME / self.run_id

    socket_dir: PurePosixPath = field(
        default_factory=lambda: PurePosixPath(f"/tmp/pytest-qlab-{secrets.token_hex(6)}")
    )
    """Private (0700) on the host, and short: a Unix socket's path must fit in 104 bytes."""

    @property
    def socket_path(self) -> PurePosixPath:
        return self.socket_dir / "fio.sock"

    @property
    def label(self) -> str:
        return self.ssh.target.label

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def open(self) -> LeftoverCleanup:
        """Lock the volume (and drive) on the host and clean crashed runs' leftovers there."""
        arguments = [
            str(self.volume),
            self.run_id,
            self.marker.model_dump_json(),
            LockHolder.ours().model_dump_json(),
            DRIVE_LOCK_DIR,
            self.drive_key or "-",
            str(HEARTBEAT_TIMEOUT_S),
            self.fleet_run,
            "1" if self.lock_volume else "0",
            str(self.socket_dir),
        ]
        forward = f"127.0.0.1:{self.local_port}:{self.socket_path}"
        argv = self.ssh.ssh_argv("-o", "ExitOnForwardFailure=yes", "-L", forward)
        command = self.ssh.remote_command(["perl", "-e", _script(), *arguments])
        self._process = subprocess.Popen(
            [*argv, command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # Ctrl-C reaches us, and we end the session in order
        )
        threading.Thread(target=self._read, daemon=True).start()
        removed: list[RemovedRun] = []
        left: list[LeftAlone] = []
        while True:
            kind, fields = self._answer()
            if kind == "removed":
                marker = ScratchMarker.model_validate_json(fields[2])
                removed.append(RemovedRun(Path(fields[0]), marker, int(fields[1])))
            elif kind == "left":
                left.append(LeftAlone(Path(fields[0]), f"{fields[1]}; remove it yourself"))
            elif kind == "locked":
                break
            else:
                self._refuse(kind, fields)
        threading.Thread(target=self._beat, daemon=True).start()
        self.cleanup = LeftoverCleanup(Path(str(self.volume)), tuple(removed), tuple(left))
        return self.cleanup

    def start_server(self) -> None:
        """Create the scratch folder with its marker and start fio's server in it."""
        self._send("start")
        kind, fields = self._answer()
        if kind != "serving":
            self._refuse(kind, fields)
        self.server_pid = int(fields[0])

    def stop(self, *, keep: bool = False) -> None:
        """Stop fio's server and remove the scratch folder (or mark it kept); safe to call on
        every exit path, any number of times."""
        process = self._process
        if process is None or self._stopped.is_set():
            return
        self._stopped.set()
        with contextlib.suppress(OSError, ValueError):
            self._send("keep" if keep else "stop")
        with contextlib.suppress(HostError):
            while self._answer(STOP_TIMEOUT_S)[0] != "stopped":
                pass
        with contextlib.suppress(OSError, ValueError):
            if process.stdin is not None:
                process.stdin.close()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _refuse(self, kind: str, fields: list[str]) -> None:
        self.stop()
        if kind == "busy":
            holder = fields[1] if len(fields) > 1 else ""
            raise HostError(
                f"{fields[0]} on host {self.label} is in use by another pytest-qlab run "
                f"({holder.strip() or 'holder unknown'}); wait for it to finish"
            )
        if kind == "failed":
            raise HostError(f"host {self.label}: {fields[0] if fields else 'the keeper failed'}")
        raise HostError(f"host {self.label}: unexpected answer {kind!r} from the host")

    def _send(self, line: str) -> None:
        process = self._process
        if process is None or process.stdin is None:
            raise HostError(f"host {self.label}: no session")
        with self._write_lock:
            process.stdin.write(line + "\n")
            process.stdin.flush()

    def _beat(self) -> None:
        while not self._stopped.wait(HEARTBEAT_S):
            try:
                self._send("alive")
            except (OSError, ValueError, HostError):
                return

    def _read(self) -> None:
        process = self._process
        assert process is not None
        assert process.stdout is not None
        for line in process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _answer(self, timeout_s: float = ANSWER_TIMEOUT_S) -> tuple[str, list[str]]:
        try:
            line = self._lines.get(timeout=timeout_s)
        except queue.Empty:
            raise HostError(
                f"host {self.label} did not answer within {timeout_s:.0f} s; check the host"
            ) from None
        if line is None:
            self._lines.put(None)  # every later wait sees the end too
            raise HostError(f"host {self.label}: {self._ended()}")
        kind, *fields = line.split("\t")
        return kind, fields

    def _ended(self) -> str:
        process = self._process
        assert process is not None
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "its session stopped answering"
        stderr = process.stderr.read() if process.stderr is not None else ""
        if process.returncode == 255:
            return connection_problem(stderr)
        if process.returncode == 127:
            return "perl is not installed there; install it (macOS and Debian have it)"
        detail = stderr.strip().splitlines()[-1:] or ["no message"]
        return f"its session ended (exit {process.returncode}: {detail[0]})"
