"""The fleet's line in the verdict: how many hosts are ready, and what storage the hosts share
carried at once (`fleet: 3 of 4 hosts READY for Acceptable; shared storage carried 16 streams
at once`)."""

from __future__ import annotations

from pydantic import BaseModel

from pytest_qlab.core.evidence import VolumeRecord
from pytest_qlab.core.session import QlabSession
from pytest_qlab.core.verdict import RequirementKey
from pytest_qlab.fleet.fleet import Fleet

PROFILE_SAYS_SHARED = "the show profile (shared_storage = true)"


class SharedStorageReport(BaseModel):
    identity: str
    """The filesystem's identity (server and export), or that the profile said so."""
    hosts: list[str]
    streams_at_once: int | None
    """The most streams every host on it played together without a dropped frame (0: none
    without a drop); null when no replay played on all of its hosts."""
    dropped_frames: int
    """Frames dropped on these hosts in the replays played together."""


class FleetReport(BaseModel):
    hosts: int
    ready_hosts: int
    shared_storage: list[SharedStorageReport]
    line: str


def shared_groups(fleet: Fleet, profile_says_shared: bool) -> dict[str, list[str]]:
    """Host volume keys by the storage they share: network filesystems with one identity on
    several hosts; all hosts when the profile says their volumes are one storage."""
    if profile_says_shared:
        return {PROFILE_SAYS_SHARED: list(fleet.hosts)}
    groups: dict[str, list[str]] = {}
    for key, host in fleet.hosts.items():
        if host.facts.network_storage:
            groups.setdefault(host.facts.filesystem_source, []).append(key)
    return {identity: keys for identity, keys in groups.items() if len(keys) > 1}


def _carried(records: list[VolumeRecord]) -> tuple[int | None, int]:
    """Streams played together drop-free at most (None: no replay on every host), and the
    drops of those replays."""
    best: int | None = None
    dropped = 0
    for key in (RequirementKey.NORMAL_PLAYBACK, RequirementKey.CROSSFADE_PEAK):
        replays = [record.replays.get(key) for record in records]
        if any(replay is None for replay in replays):
            continue
        played = [replay for replay in replays if replay is not None]
        drops = sum(replay.dropped for replay in played)
        dropped += drops
        best = best or 0
        if drops == 0:
            best = max(best, sum(len(replay.streams) for replay in played))
    return best, dropped


def fleet_report(session: QlabSession, ready: dict[str, bool]) -> FleetReport | None:
    """`ready`: each volume's readiness by target key, as the verdict decided it."""
    fleet = session.fleet
    if fleet is None:
        return None
    keys = list(fleet.hosts)
    ready_hosts = sum(ready.get(key, False) for key in keys)
    shared = []
    for identity, members in shared_groups(fleet, session.profile.shared_storage).items():
        records = [session.volumes[key] for key in members]
        streams, dropped = _carried(records)
        shared.append(
            SharedStorageReport(
                identity=identity,
                hosts=[fleet.hosts[key].target.host or key for key in members],
                streams_at_once=streams,
                dropped_frames=dropped,
            )
        )
    line = f"fleet: {ready_hosts} of {len(keys)} hosts READY for {session.options.require.label}"
    for storage in shared:
        if storage.streams_at_once is None:
            line += "; no replay played on every host of the shared storage (add the setup check)"
        elif storage.streams_at_once:
            line += f"; shared storage carried {storage.streams_at_once} streams at once"
        else:
            line += f"; shared storage dropped {storage.dropped_frames} frames played at once"
    return FleetReport(hosts=len(keys), ready_hosts=ready_hosts, shared_storage=shared, line=line)
