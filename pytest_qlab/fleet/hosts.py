"""`--qlab-host ssh://[user@]host[:port]/absolute/volume/path`: one playback machine's volume."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from pytest_qlab.fleet.errors import HostError

_HOST_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
"""An ssh_config alias, a DNS name or an IPv4 address: never an option ("-oProxyCommand=...")."""
_USER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
EXAMPLE = "ssh://show@foh-mac.local/Volumes/Show"


@dataclass(frozen=True)
class HostTarget:
    """A volume on another machine, as the user named it."""

    raw: str
    host: str
    """The ssh destination: an alias of the user's ~/.ssh/config or a host name."""
    path: PurePosixPath
    """The volume's folder on that machine, absolute."""
    user: str | None = None
    port: int | None = None

    @property
    def label(self) -> str:
        """How the terminal and the reports name the host: what the user typed for it."""
        return self.host if self.port is None else f"{self.host}:{self.port}"


def parse_host(raw: str) -> HostTarget:
    """Raises HostError with the form to use."""
    text = raw.strip()
    form = f"give ssh://[user@]host[:port]/absolute/path, e.g. {EXAMPLE}"
    parts = urlsplit(text)
    if parts.scheme != "ssh" or not parts.netloc:
        raise HostError(f"--qlab-host {raw!r} is not an ssh:// address; {form}")
    if parts.query or parts.fragment or parts.password is not None:
        raise HostError(
            f"--qlab-host {raw!r} carries a password, query or fragment; {form} "
            "(hosts are reached with your SSH keys, never a password)"
        )
    user = unquote(parts.username) if parts.username else None
    if user is not None and not _USER_NAME.match(user):
        raise HostError(f"--qlab-host {raw!r} names an unusable user {user!r}; {form}")
    try:
        port = parts.port
    except ValueError:
        raise HostError(f"--qlab-host {raw!r} has a bad port; {form}") from None
    path = PurePosixPath(unquote(parts.path))
    if not path.is_absolute() or str(path) == "/" or ".." in path.parts:
        raise HostError(
            f"--qlab-host {raw!r} needs the volume's absolute folder on that host; {form}"
        )
    # the original case of the host alias matters to ssh_config's Host patterns
    alias = parts.netloc.rsplit("@", 1)[-1]
    alias = alias.rsplit(":", 1)[0] if port is not None else alias
    if not _HOST_NAME.match(alias):
        raise HostError(f"--qlab-host {raw!r} names no usable host; {form}")
    return HostTarget(raw=text, host=alias, path=path, user=user, port=port)


def parse_hosts(raws: tuple[str, ...]) -> tuple[HostTarget, ...]:
    """Each host volume once."""
    hosts = tuple(parse_host(raw) for raw in raws)
    seen: set[tuple[str, int | None, PurePosixPath]] = set()
    for target in hosts:
        key = (target.host, target.port, target.path)
        if key in seen:
            raise HostError(f"--qlab-host {target.raw} was given twice; give each host volume once")
        seen.add(key)
    return hosts
