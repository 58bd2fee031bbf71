"""Playback hosts for the fleet tests, made of real OpenSSH and real fio on this machine.

A lab is one or more `sshd -D` started on a free port with a host key and client keys made in the
lab's folder, and an ssh_config whose `Host` aliases are the hosts a test names:

    qlab-a, qlab-b   good hosts, each with its own loop-mounted ext4 volume
    qlab-nofio       a login whose PATH has every standard program except fio
    qlab-fakefio     a login whose `fio --version` says FAKE_FIO_VERSION; anything else is real fio
    qlab-badkey      a key the daemon does not authorise
    qlab-down        a port that refuses connections (bound, never listening)

The loopback lab puts every alias on one sshd on 127.0.0.1. The namespace lab gives qlab-a and
qlab-b a network namespace each (a veth pair, a 10.x address, their own sshd), so `drop` can take
a host off the network mid-run the way a pulled cable does. Both share the machine's filesystem
and its fio; what is separate is the network and the processes.

The bad-PATH aliases use the key's `environment="PATH=..."` in authorized_keys
(PermitUserEnvironment PATH): a client's SetEnv PATH with AcceptEnv PATH leaves sshd's own PATH
in place (checked with OpenSSH 9.2). Remote shells are root's bash, whose .bashrc prepends its own
folders (none holds fio).

Everything a lab starts is found again by what sshd gives every session: SSH_CONNECTION ends with
the daemon's own address and port, and every process started over that session inherits it, even
after fio's job workers setsid() and are reparented to init. `leftover_fio` uses that (and the
namespaces' process lists, and `ss -ltnp`) to say which fio processes outlived a run; `close`
kills what is left, stops the daemons and deletes the namespaces. The volumes are mounted by the
integration conftest's `Mounts`, which unmounts them after the lab is closed.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil  # type: ignore[import-untyped]

SSHD = Path("/usr/sbin/sshd")
PRIVSEP_DIR = Path("/run/sshd")
"""Debian's sshd refuses to start without it; created when missing and left in place, since
another daemon on the machine may be using it."""
USER = "root"
GOOD_HOSTS = ("qlab-a", "qlab-b")
NO_FIO_HOST = "qlab-nofio"
FAKE_FIO_HOST = "qlab-fakefio"
BAD_KEY_HOST = "qlab-badkey"
DOWN_HOST = "qlab-down"
FAKE_FIO_VERSION = "fio-3.41"
"""A release whose client/server protocol (113) differs from 3.33's (97)."""
STANDARD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CONNECT_TIMEOUT_S = 5
START_TIMEOUT_S = 10.0
FIO_NAMES = ("fio", "fio-btrace2fio", "fio-dedupe", "fio-genzipf", "fio-verify-state")


class LabUnavailable(Exception):
    """The machine cannot host a lab (no root, no sshd, no namespaces): the test is skipped."""


def _run(*command: str, timeout_s: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)


def require_tools(*, namespaces: bool = False) -> None:
    """Raise LabUnavailable naming what is missing."""
    if os.geteuid() != 0:
        raise LabUnavailable(f"a fleet lab needs root (running as uid {os.geteuid()})")
    if not SSHD.exists():
        raise LabUnavailable(f"OpenSSH's sshd is not installed at {SSHD}")
    for tool in ("ssh", "ssh-keygen", "fio", "ss", *(("ip",) if namespaces else ())):
        if shutil.which(tool) is None:
            raise LabUnavailable(f"{tool} is not installed")


# --- keys and PATHs -------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public_line: str


def make_key(folder: Path, name: str) -> KeyPair:
    """An ed25519 key without a passphrase."""
    private = folder / name
    made = _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(private))
    if made.returncode != 0:
        raise LabUnavailable(f"ssh-keygen failed: {made.stderr.strip()}")
    return KeyPair(private, private.with_suffix(".pub").read_text(encoding="ascii").strip())


def path_without_fio(folder: Path) -> Path:
    """A folder linking every program of the standard PATH except fio's: a host where fio was
    never installed, but df, mkdir and the shell still work."""
    folder.mkdir(parents=True)
    for directory in STANDARD_PATH.split(":"):
        with contextlib.suppress(OSError):
            for program in Path(directory).iterdir():
                link = folder / program.name
                if program.name in FIO_NAMES or link.exists() or link.is_symlink():
                    continue
                link.symlink_to(program)
    return folder


def path_with_fake_fio(folder: Path, real_fio: Path, version: str = FAKE_FIO_VERSION) -> Path:
    """A folder whose `fio --version` prints `version`; any other call runs the real fio."""
    folder.mkdir(parents=True)
    script = folder / "fio"
    script.write_text(
        "#!/bin/sh\n"
        'for argument in "$@"; do\n'
        f'  [ "$argument" = --version ] && {{ echo {version}; exit 0; }}\n'
        "done\n"
        f'exec {real_fio} "$@"\n',
        encoding="ascii",
    )
    script.chmod(0o755)
    return folder


# --- the daemons ----------------------------------------------------------------------------


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        port: int = probe.getsockname()[1]
        return port


def refusing_port(address: str = "127.0.0.1") -> socket.socket:
    """A socket bound but never listening: connections to its port are refused for as long as
    it stays open, and no other program can take the port meanwhile."""
    held = socket.socket()
    held.bind((address, 0))
    return held


class SshDaemon:
    """One `sshd -D -e` with its config, log and pid; `stop` ends its sessions first."""

    def __init__(
        self,
        folder: Path,
        name: str,
        address: str,
        port: int,
        *,
        host_key: Path,
        authorized_keys: Path,
        client_alive_interval_s: int,
        netns: str | None = None,
    ) -> None:
        self.name = name
        self.address = address
        self.port = port
        self.netns = netns
        self.config = folder / f"sshd-{name}.conf"
        self.log = folder / f"sshd-{name}.log"
        alive = (
            [f"ClientAliveInterval {client_alive_interval_s}", "ClientAliveCountMax 2"]
            if client_alive_interval_s > 0
            else ["ClientAliveInterval 0"]
        )
        lines = [
            f"ListenAddress {address}:{port}",
            f"HostKey {host_key}",
            f"AuthorizedKeysFile {authorized_keys}",
            f"PidFile {folder / f'sshd-{name}.pid'}",
            "StrictModes no",
            "UsePAM no",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitUserEnvironment PATH",
            "AllowTcpForwarding yes",
            "AllowStreamLocalForwarding yes",
            "MaxStartups 100",
            "MaxSessions 50",
            *alive,
            "LogLevel VERBOSE",
        ]
        self.config.write_text("\n".join(lines) + "\n", encoding="ascii")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        checked = _run(str(SSHD), "-t", "-f", str(self.config))
        if checked.returncode != 0:
            raise LabUnavailable(f"sshd rejects its config: {checked.stderr.strip()}")
        prefix = ("ip", "netns", "exec", self.netns) if self.netns else ()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*prefix, str(SSHD), "-D", "-e", "-f", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LabUnavailable(f"sshd {self.name} cannot start: {self.log_tail()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.address, self.port), timeout=0.5),
            ):
                return
            time.sleep(0.05)
        raise LabUnavailable(f"sshd {self.name} did not listen within {START_TIMEOUT_S:.0f} s")

    def log_tail(self, lines: int = 5) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return " | ".join(text.strip().splitlines()[-lines:]) or "(no log)"

    @property
    def connection_mark(self) -> str:
        """How SSH_CONNECTION ends in every process started over this daemon."""
        return f" {self.address} {self.port}"

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(psutil.NoSuchProcess):
            for session in psutil.Process(self.process.pid).children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    session.kill()
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


# --- network namespaces ---------------------------------------------------------------------


def _used_ipv4_prefixes() -> str:
    return _run("ip", "-4", "-o", "addr", "show").stdout + _run("ip", "-4", "route").stdout


@dataclass
class NetNamespace:
    """A namespace joined to this one by a veth pair; `address` is its end, on a /24 of its own."""

    name: str
    host_link: str
    address: str
    host_address: str
    created: bool = False

    @classmethod
    def allocate(cls, tag: str) -> NetNamespace:
        """Names and a /24 not in use here; `create` makes them."""
        used = _used_ipv4_prefixes()
        free = [n for n in range(256) if f"10.231.{n}." not in used]
        if not free:
            raise LabUnavailable("no free 10.231.x.0/24 for a test namespace")
        subnet = f"10.231.{random.choice(free)}"
        return cls(f"qlab-{tag}", f"qh{tag}", f"{subnet}.2", f"{subnet}.1")

    def _ip(self, *arguments: str, inside: bool = False) -> None:
        prefix = ("ip", "netns", "exec", self.name) if inside else ()
        result = _run(*prefix, "ip", *arguments)
        if result.returncode != 0:
            raise LabUnavailable(f"ip {' '.join(arguments)}: {result.stderr.strip()}")

    def create(self) -> None:
        added = _run("ip", "netns", "add", self.name)
        if added.returncode != 0:
            raise LabUnavailable(f"network namespaces are unavailable: {added.stderr.strip()}")
        self.created = True
        inner = f"qn{self.host_link[2:]}"
        self._ip("link", "add", self.host_link, "type", "veth", "peer", "name", inner)
        self._ip("link", "set", inner, "netns", self.name)
        self._ip("addr", "add", f"{self.host_address}/24", "dev", self.host_link)
        self._ip("link", "set", self.host_link, "up")
        self._ip("addr", "add", f"{self.address}/24", "dev", inner, inside=True)
        self._ip("link", "set", inner, "up", inside=True)
        self._ip("link", "set", "lo", "up", inside=True)

    def set_link(self, *, up: bool) -> None:
        self._ip("link", "set", self.host_link, "up" if up else "down")

    def pids(self) -> list[int]:
        listed = _run("ip", "netns", "pids", self.name)
        return [int(pid) for pid in listed.stdout.split() if pid.isdigit()]

    def listening(self) -> str:
        """`ss` inside: TCP, and Unix sockets, which belong to the namespace that made them."""
        inside = ("ip", "netns", "exec", self.name, "ss")
        return _run(*inside, "-ltnpH").stdout + _run(*inside, "-lxnpH").stdout

    def delete(self) -> list[str]:
        problems: list[str] = []
        if not self.created:
            return problems
        for pid in self.pids():
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).kill()
        deadline = time.monotonic() + 5
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        _run("ip", "link", "del", self.host_link)  # gone with the namespace if already deleted
        deleted = _run("ip", "netns", "del", self.name)
        if deleted.returncode != 0:
            problems.append(f"ip netns del {self.name}: {deleted.stderr.strip()}")
        self.created = False
        return problems


# --- the lab --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alias:
    name: str
    hostname: str
    port: int
    identity: Path

    def config_block(self, known_hosts: Path) -> str:
        return "\n".join(
            [
                f"Host {self.name}",
                f"  HostName {self.hostname}",
                f"  Port {self.port}",
                f"  User {USER}",
                f"  IdentityFile {self.identity}",
                "  IdentitiesOnly yes",
                f"  UserKnownHostsFile {known_hosts}",
                "  StrictHostKeyChecking yes",
                "  BatchMode yes",
                f"  ConnectTimeout {CONNECT_TIMEOUT_S}",
                "",
            ]
        )


def known_hosts_line(address: str, port: int, host_public_line: str) -> str:
    key = " ".join(host_public_line.split()[:2])
    host = address if port == 22 else f"[{address}]:{port}"
    return f"{host} {key}"


@dataclass
class FleetLab:
    """The aliases a test can reach, their volumes, and what to undo."""

    folder: Path
    ssh_config: Path
    volumes: dict[str, Path]
    """Each good host's volume: a loop-mounted ext4 of its own."""
    read_only_volume: Path
    daemons: list[SshDaemon] = field(default_factory=list)
    namespaces: dict[str, NetNamespace] = field(default_factory=dict)
    held_sockets: list[socket.socket] = field(default_factory=list)
    aliases: dict[str, Alias] = field(default_factory=dict)

    def ssh_command(self, alias: str, *options: str) -> list[str]:
        """The ssh argv for `alias`; append the remote command."""
        return ["ssh", "-F", str(self.ssh_config), *options, alias]

    def ssh(
        self, alias: str, command: str, *, timeout_s: float = 30.0
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.ssh_command(alias), command],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def url(self, alias: str, volume: Path | None = None) -> str:
        """What `--qlab-host` takes: ssh://alias/absolute/volume."""
        return f"ssh://{alias}{volume or self.volumes[alias]}"

    def drop(self, alias: str) -> None:
        """Take `alias` off the network (its veth down): packets vanish, nothing is refused."""
        self._namespace(alias).set_link(up=False)

    def restore(self, alias: str) -> None:
        self._namespace(alias).set_link(up=True)

    def _namespace(self, alias: str) -> NetNamespace:
        if alias not in self.namespaces:
            raise ValueError(f"{alias} is not in a namespace of its own in this lab")
        return self.namespaces[alias]

    def _ours(self, process: psutil.Process) -> bool:
        try:
            connection = process.environ().get("SSH_CONNECTION", "")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return False
        return any(connection.endswith(daemon.connection_mark) for daemon in self.daemons)

    def processes(self, names: Iterable[str] | None = None) -> list[psutil.Process]:
        """Live processes started over the lab's daemons or inside its namespaces."""
        wanted = set(names) if names is not None else None
        in_namespaces = {pid for ns in self.namespaces.values() for pid in ns.pids()}
        daemon_pids = {d.process.pid for d in self.daemons if d.process is not None}
        found = []
        for process in psutil.process_iter(["name", "status"]):
            if process.pid in daemon_pids or process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if wanted is not None and process.info["name"] not in wanted:
                continue
            if process.pid in in_namespaces or self._ours(process):
                found.append(process)
        return found

    def listening(self) -> dict[int, list[str]]:
        """pid -> the TCP and Unix sockets it listens on (`ss -lnpH`, here and in the
        namespaces)."""
        texts = [_run("ss", "-ltnpH").stdout, _run("ss", "-lxnpH").stdout]
        texts += [ns.listening() for ns in self.namespaces.values()]
        sockets: dict[int, list[str]] = {}
        for line in "\n".join(texts).splitlines():
            fields = line.split()
            if "users:" not in line or len(fields) < 5:
                continue
            where = fields[4] if fields[0].startswith("u_") else fields[3]  # -x adds Netid
            for part in line.split("pid=")[1:]:
                pid = part.split(",", 1)[0]
                if pid.isdigit():
                    sockets.setdefault(int(pid), []).append(where)
        return sockets

    def leftover_fio(self, *, grace_s: float = 5.0, paths: Sequence[Path] = ()) -> list[str]:
        """fio processes still alive after `grace_s` that the lab's hosts started, or that work
        in, name or hold open something under `paths` (default: the volumes); each described
        with what it listens on. Empty when a run cleaned up after itself."""
        roots = tuple(paths) or (*self.volumes.values(), self.read_only_volume)
        deadline = time.monotonic() + grace_s
        while True:
            left = {p.pid: p for p in self.processes(("fio",))}
            for process in psutil.process_iter(["name"]):
                if process.info["name"] == "fio" and _touches(process, roots):
                    left.setdefault(process.pid, process)
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        listening = self.listening() if left else {}
        described = []
        for pid, process in sorted(left.items()):
            with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess):
                where = ", ".join(listening.get(pid, [])) or "not listening"
                described.append(f"{pid} {' '.join(process.cmdline())} ({where})")
        return described

    def kill_leftovers(self, timeout_s: float = 10.0) -> None:
        """SIGKILL, by pid, every process the lab's hosts started (sessions, fio servers and
        their orphaned workers) and any fio working under the volumes, until none is left (one
        may fork while the others die); the daemons keep running."""
        roots = (*self.volumes.values(), self.read_only_volume)
        deadline = time.monotonic() + timeout_s
        while True:
            targets = self.processes() + [
                process
                for process in psutil.process_iter(["name"])
                if process.info["name"] == "fio" and _touches(process, roots)
            ]
            if not targets:
                return
            if time.monotonic() > deadline:
                raise OSError(f"processes survive SIGKILL: {[p.pid for p in targets]}")
            for process in targets:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.kill()
            psutil.wait_procs(targets, timeout=1)

    def close(self) -> list[str]:
        """Undo everything; returns what could not be undone."""
        problems = []
        for action in (
            self.kill_leftovers,
            *(daemon.stop for daemon in self.daemons),
            *(held.close for held in self.held_sockets),
        ):
            try:
                action()
            except Exception as exc:
                problems.append(f"{action}: {exc}")
        for namespace in self.namespaces.values():
            problems += namespace.delete()
        return problems


def _touches(process: psutil.Process, roots: Sequence[Path]) -> bool:
    try:
        texts = [process.cwd(), *process.cmdline()]
        texts += [opened.path for opened in process.open_files()]
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return False
    return any(str(root) in text for root in roots for text in texts)


def leftovers_under(volume: Path) -> list[str]:
    """What a volume holds besides ext4's lost+found: empty after a run that cleaned up."""
    return sorted(
        str(path.relative_to(volume))
        for path in volume.rglob("*")
        if path.relative_to(volume).parts[0] != "lost+found"
    )


@dataclass(frozen=True)
class _Keys:
    host: KeyPair
    user: KeyPair
    no_fio: KeyPair
    fake_fio: KeyPair
    bad: KeyPair


def _keys_and_paths(folder: Path) -> tuple[_Keys, Path]:
    """The keys, and authorized_keys with the bad-PATH logins; returns its path."""
    keys_folder = folder / "keys"
    keys_folder.mkdir(parents=True)
    keys = _Keys(*(make_key(keys_folder, n) for n in ("host", "user", "nofio", "fakefio", "bad")))
    real_fio = shutil.which("fio")
    if real_fio is None:
        raise LabUnavailable("fio is not installed")
    no_fio = path_without_fio(folder / "path-without-fio")
    fake = path_with_fake_fio(folder / "path-with-fake-fio", Path(real_fio))
    authorized = folder / "authorized_keys"
    authorized.write_text(
        f"{keys.user.public_line}\n"
        f'environment="PATH={no_fio}" {keys.no_fio.public_line}\n'
        f'environment="PATH={fake}:{STANDARD_PATH}" {keys.fake_fio.public_line}\n',
        encoding="ascii",
    )
    authorized.chmod(0o600)
    return keys, authorized


def _write_config(lab: FleetLab, keys: _Keys, hosts: Mapping[str, SshDaemon]) -> None:
    """Good hosts on their daemons; the bad-host aliases on the first one."""
    first = next(iter(hosts.values()))
    down = refusing_port()
    lab.held_sockets.append(down)
    aliases = [Alias(name, d.address, d.port, keys.user.private) for name, d in hosts.items()]
    aliases += [
        Alias(NO_FIO_HOST, first.address, first.port, keys.no_fio.private),
        Alias(FAKE_FIO_HOST, first.address, first.port, keys.fake_fio.private),
        Alias(BAD_KEY_HOST, first.address, first.port, keys.bad.private),
        Alias(DOWN_HOST, "127.0.0.1", down.getsockname()[1], keys.user.private),
    ]
    lab.aliases = {alias.name: alias for alias in aliases}
    known_hosts = lab.folder / "known_hosts"
    known_hosts.write_text(
        "".join(
            known_hosts_line(d.address, d.port, keys.host.public_line) + "\n" for d in lab.daemons
        ),
        encoding="ascii",
    )
    lab.ssh_config.write_text(
        "\n".join(alias.config_block(known_hosts) for alias in aliases), encoding="ascii"
    )


def start_loopback_lab(
    folder: Path,
    volumes: Mapping[str, Path],
    read_only_volume: Path,
    *,
    client_alive_interval_s: int = 2,
) -> FleetLab:
    """Every alias on one sshd on 127.0.0.1. On failure, what was started is undone and
    LabUnavailable raised."""
    require_tools()
    lab = FleetLab(folder, folder / "ssh_config", dict(volumes), read_only_volume)
    try:
        keys, authorized = _keys_and_paths(folder)
        daemon = SshDaemon(
            folder,
            "loopback",
            "127.0.0.1",
            free_port(),
            host_key=keys.host.private,
            authorized_keys=authorized,
            client_alive_interval_s=client_alive_interval_s,
        )
        lab.daemons.append(daemon)
        daemon.start()
        _write_config(lab, keys, dict.fromkeys(GOOD_HOSTS, daemon))
    except BaseException:
        lab.close()
        raise
    return lab


def start_namespace_lab(
    folder: Path,
    volumes: Mapping[str, Path],
    read_only_volume: Path,
    *,
    client_alive_interval_s: int = 2,
) -> FleetLab:
    """qlab-a and qlab-b each in a network namespace with its own sshd on port 22 of its
    10.231.x.2; `lab.drop(alias)` downs its link. On failure everything is undone."""
    require_tools(namespaces=True)
    lab = FleetLab(folder, folder / "ssh_config", dict(volumes), read_only_volume)
    try:
        keys, authorized = _keys_and_paths(folder)
        tag = uuid.uuid4().hex[:6]
        hosts: dict[str, SshDaemon] = {}
        for index, alias in enumerate(GOOD_HOSTS):
            namespace = NetNamespace.allocate(f"{tag}{index}")
            lab.namespaces[alias] = namespace
            namespace.create()
            daemon = SshDaemon(
                folder,
                alias,
                namespace.address,
                22,
                host_key=keys.host.private,
                authorized_keys=authorized,
                client_alive_interval_s=client_alive_interval_s,
                netns=namespace.name,
            )
            lab.daemons.append(daemon)
            daemon.start()
            hosts[alias] = daemon
        _write_config(lab, keys, hosts)
    except BaseException:
        lab.close()
        raise
    return lab


def nothing_left(lab: FleetLab, *, grace_s: float = 5.0) -> list[str]:
    """Every trace a fleet run left: fio processes (with their listening sockets) and entries
    under each volume. A test asserts this is empty after every exit path it drives."""
    left = [f"fio process {line}" for line in lab.leftover_fio(grace_s=grace_s)]
    for alias, volume in lab.volumes.items():
        left += [f"{alias}:{volume}/{entry}" for entry in leftovers_under(volume)]
    return left
