"""Opening a qualification run: from validated options to the targets, fio, the show profile,
each drive's identity and the locks that keep other runs out. Everything acquired is held by the
run's one ExitStack, so closing the run releases it on every exit path, and a failure part-way
releases what was already taken."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from pytest_qlab.core.options import QlabOptions
from pytest_qlab.core.profiles import (
    ShowProfile,
    SourceKey,
    find_profile,
    load_profile,
    parse_profile,
)
from pytest_qlab.core.session import QlabSession
from pytest_qlab.core.stream_flags import profile_from_streams
from pytest_qlab.drive import DriveInfo, probe_drive
from pytest_qlab.fio import locate_fio
from pytest_qlab.fleet.errors import HostError
from pytest_qlab.fleet.fleet import open_fleet
from pytest_qlab.fleet.hosts import parse_hosts
from pytest_qlab.media.cache import check_cache
from pytest_qlab.media.framemap import FrameMap, read_frame_map
from pytest_qlab.media.selection import media_files, volume_of
from pytest_qlab.media.show import show_from_media
from pytest_qlab.media.stream_files import StreamFiles, fill_stream_files
from pytest_qlab.modes.setup_check import SetupCheckPlan
from pytest_qlab.safety.claim import VolumeClaim, claim_volume
from pytest_qlab.safety.drive_lock import drive_key, lock_drives
from pytest_qlab.safety.volume import TargetVolume, VolumeError, resolve_target, unique_names


def resolve_targets(volumes: Sequence[str]) -> tuple[TargetVolume, ...]:
    """The volumes to qualify, each named once; none given means the system's temp folder."""
    if not volumes:
        return (resolve_target(tempfile.gettempdir(), is_system_default=True),)
    targets = tuple(resolve_target(raw) for raw in volumes)
    seen: set[Path] = set()
    for target in targets:
        if target.path in seen:
            raise VolumeError(f"volume {target.path} was given twice; give each volume once")
        seen.add(target.path)
    return unique_names(targets)


def open_run(options: QlabOptions) -> QlabSession:
    """Raises a QlabError subclass (VolumeError, MediaError, ProfileError, FioError, HostError)
    that says what to do, holding nothing by then. The caller closes the run
    (`QlabSession.close`)."""
    hosts = parse_hosts(options.hosts)
    # hosts alone measure no local volume; with neither, the system's temp folder is measured
    targets = resolve_targets(options.volumes) if options.volumes or not hosts else ()
    media = show_media(options.media, targets)
    # the show is checked before fio: what the user typed first, then what is installed
    profile, stream_files = _show_profile(options, media, [target.path for target in targets])
    if hosts and (media or stream_files.on_any()):
        raise HostError(
            "the show's own media play on this machine's volumes only, not with --qlab-host; "
            "qualify the hosts with a profile of rates (no media or frames_from streams)"
        )
    fio = locate_fio(options.fio)
    plan = SetupCheckPlan.for_profile(profile, options.time_scale)
    drives = {target.path: probe_drive(target.path) for target in targets}
    with ExitStack() as resources:
        claims: dict[Path, VolumeClaim] = {}
        for target in targets:  # one run per volume: held until the run closes
            claims[target.path] = claim_volume(target, plan.scratch_bytes)
            resources.callback(claims[target.path].release)
        for lock in lock_drives(_drive_keys(drives)):  # and one per drive, whichever folder
            resources.callback(lock.release)
        fleet = None
        if hosts:
            ssh_config = Path(options.ssh_config).expanduser() if options.ssh_config else None
            fleet = open_fleet(
                hosts,
                fio,
                plan.scratch_bytes,
                resources,
                ssh_config=ssh_config,
                shared_storage=profile.shared_storage,
            )
        session = QlabSession(
            options=options,
            targets=(*targets, *(fleet.targets() if fleet is not None else ())),
            fio=fio,
            profile=profile,
            resources=resources.pop_all(),
            fleet=fleet,
        )
    if fleet is not None:
        for host in fleet.hosts.values():
            record = session.volume(host.target)
            record.drive = host.drive
            record.leftovers = host.keeper.cleanup
    for target in targets:
        record = session.volume(target)
        record.leftovers = claims[target.path].cleanup
        record.drive = drives[target.path]
        record.frame_sources = stream_files.on(target.path)
        record.media = _with_stream_media(media.get(target.path, ()), record.frame_sources)
        record.media_cache = {movie.path: check_cache(movie.path) for movie in record.media}
    return session


def _with_stream_media(
    named: tuple[FrameMap, ...], sources: dict[SourceKey, FrameMap]
) -> tuple[FrameMap, ...]:
    """The files --qlab-media names, then those the profile's streams name on the volume: the
    media replay plays each file once."""
    played = {frame_map.path.resolve() for frame_map in named}
    extra = []
    for key, frame_map in sources.items():
        if key.kind == "media" and frame_map.path.resolve() not in played:
            played.add(frame_map.path.resolve())
            extra.append(frame_map)
    return (*named, *extra)


def show_media(
    named: Sequence[str], targets: Sequence[TargetVolume]
) -> dict[Path, tuple[FrameMap, ...]]:
    """Each volume's media, mapped from their sample tables before anything is written: a file
    outside every volume, a folder without movies or a damaged movie is refused in one line."""
    volumes = [target.path for target in targets]
    found: dict[Path, list[FrameMap]] = {}
    seen: set[Path] = set()
    for raw in named:
        for movie in media_files(raw):
            if movie.resolve() in seen:
                continue
            seen.add(movie.resolve())
            found.setdefault(volume_of(movie, volumes), []).append(read_frame_map(movie))
    return {volume: tuple(maps) for volume, maps in found.items()}


def _show_profile(
    options: QlabOptions, media: dict[Path, tuple[FrameMap, ...]], volumes: Sequence[Path]
) -> tuple[ShowProfile, StreamFiles]:
    """The streams given as flags, or the profile the user named (its movie-named streams
    filled in from the movies); else, with media, the show their files describe."""
    if options.streams:
        return profile_from_streams(options.streams), StreamFiles()
    if options.profile is not None or not media:
        found = find_profile(options.profile or "default")
        if isinstance(found, ShowProfile):
            return found, StreamFiles()
        filled, stream_files = fill_stream_files(found, volumes)
        return parse_profile(filled.data, filled.source), stream_files
    buffer_frames = load_profile("default").player_buffer_frames
    return show_from_media(media, player_buffer_frames=buffer_frames)


def _drive_keys(drives: dict[Path, DriveInfo]) -> list[tuple[Path, str]]:
    return [(path, drive_key(drive.whole_disk, path)) for path, drive in drives.items()]
