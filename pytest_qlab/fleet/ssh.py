"""Commands on a host through the system's OpenSSH client, in batch mode: the user's keys, agent
and ~/.ssh/config apply, and nothing ever asks for a password.

`SshHost.run` has the drive probes' `Runner` signature, so the same probes read a remote drive.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_qlab.drive.commands import DEFAULT_TIMEOUT_S, CommandResult
from pytest_qlab.fleet.errors import HostError
from pytest_qlab.fleet.hosts import HostTarget

CONNECT_TIMEOUT_S = 10
"""Within the 30 s a bad host may take to be reported."""
ALIVE_INTERVAL_S = 3
ALIVE_COUNT = 3
"""A host silent for about 9 s is gone: its commands end and its forward closes."""
SSH_FAILED = 255
"""ssh's own exit code when it could not connect or authenticate."""
REMOTE_PATH = "PATH=$PATH:/usr/sbin:/sbin:/usr/local/bin:/usr/local/sbin:/opt/homebrew/bin"
"""A non-interactive ssh session's PATH lacks Homebrew (fio, smartctl) and sbin (smartctl on
Debian): added after the host's own PATH, so the host's choice still wins."""


@dataclass(frozen=True)
class SshHost:
    """One host's ssh destination with the options every connection to it uses."""

    target: HostTarget
    config_file: Path | None = None
    """--qlab-ssh-config: passed as `-F`, replacing ~/.ssh/config."""

    def ssh_argv(self, *extra: str) -> list[str]:
        argv = ["ssh"]
        if self.config_file is not None:
            argv += ["-F", str(self.config_file)]
        argv += [
            "-o", "BatchMode=yes",
            "-o", f"ConnectTimeout={CONNECT_TIMEOUT_S}",
            "-o", f"ServerAliveInterval={ALIVE_INTERVAL_S}",
            "-o", f"ServerAliveCountMax={ALIVE_COUNT}",
            "-o", "LogLevel=ERROR",
            "-T",
        ]  # fmt: skip
        if self.target.port is not None:
            argv += ["-p", str(self.target.port)]
        if self.target.user is not None:
            argv += ["-l", self.target.user]
        return [*argv, *extra, "--", self.target.host]

    def remote_command(self, argv: Sequence[str]) -> str:
        """One line for the host's login shell: every word quoted, our PATH additions first."""
        return f"{REMOTE_PATH} LC_ALL=C LANG=C; export PATH LC_ALL LANG; " + shlex.join(argv)

    def run(
        self, argv: Sequence[str], timeout_s: float = DEFAULT_TIMEOUT_S, *, stdin: str = ""
    ) -> CommandResult:
        """Run `argv` on the host; ssh failing to connect is `problem`, never an exception."""
        command = tuple(argv)
        try:
            completed = subprocess.run(
                [*self.ssh_argv(), self.remote_command(command)],
                input=stdin.encode("utf-8"),
                capture_output=True,
                timeout=timeout_s + CONNECT_TIMEOUT_S,
                check=False,
                env=_ssh_environment(),
            )
        except subprocess.TimeoutExpired:
            return CommandResult(command, None, "", "", problem=f"timed out after {timeout_s:g} s")
        except OSError as exc:
            return CommandResult(command, None, "", "", problem=f"cannot run ssh ({exc.strerror})")
        stdout = completed.stdout.decode("utf-8", errors="replace")
        stderr = completed.stderr.decode("utf-8", errors="replace")
        if completed.returncode == SSH_FAILED:
            return CommandResult(command, None, stdout, stderr, problem=connection_problem(stderr))
        if completed.returncode == 127:
            return CommandResult(
                command, 127, stdout, stderr, problem="not installed", missing=True
            )
        return CommandResult(command, completed.returncode, stdout, stderr)

    def check(
        self, argv: Sequence[str], timeout_s: float = DEFAULT_TIMEOUT_S, *, stdin: str = ""
    ) -> CommandResult:
        """`run`, raising HostError when ssh itself failed (the host is not usable at all)."""
        result = self.run(argv, timeout_s, stdin=stdin)
        if result.returncode is None and result.problem is not None and not result.missing:
            raise HostError(f"host {self.target.label}: {result.problem}")
        return result


def connection_problem(stderr: str) -> str:
    """ssh's failure in words, with the fix: the one line a bad host gets."""
    text = stderr.strip()
    last = text.splitlines()[-1] if text else "ssh failed without saying why"
    lowered = text.lower()
    if "permission denied" in lowered or "too many authentication failures" in lowered:
        return (
            f"the SSH key was refused ({last}); add your public key to ~/.ssh/authorized_keys "
            "on that host (ssh-copy-id), or name the key in your ssh config"
        )
    if "host key verification failed" in lowered or "remote host identification" in lowered:
        return (
            f"its host key is not known or has changed ({last}); connect once with `ssh` to "
            "check and accept it"
        )
    if "could not resolve" in lowered or "name or service not known" in lowered:
        return f"the host name is not known ({last}); check the name or your ssh config"
    return (
        f"cannot be reached over SSH ({last}); check that it is on, on the network, and has "
        "Remote Login (sshd) turned on"
    )


def _ssh_environment() -> dict[str, str]:
    """ssh with the C locale and no askpass program: batch mode must never wait on a prompt."""
    env = dict(os.environ, LC_ALL="C", LANG="C")
    env.pop("SSH_ASKPASS", None)
    env.pop("DISPLAY", None)
    return env
