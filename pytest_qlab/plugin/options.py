"""The --qlab-* options, each documented once for the command line and the ini file, read with
the precedence command line > ini > default into the core's validated QlabOptions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_qlab.core.options import (
    DEFAULT_REPORT_DIR,
    QlabOptions,
    history_setting,
    host_address,
    non_empty_path,
    progress_interval,
    rating_level,
    throttle_drop_percent,
    throttle_time,
    time_scale,
)
from pytest_qlab.core.verdict import Rating


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("qlab", "pytest-qlab: qualify a drive for QLab ProRes playback")
    group.addoption(
        "--volume",
        action="append",
        dest="qlab_volumes",
        type=non_empty_path,
        metavar="PATH",
        help="volume to qualify, e.g. /Volumes/Show; repeat to qualify several in turn "
        "(default: the system temp folder, which tests the system disk)",
    )
    group.addoption(
        "--qlab-host",
        action="append",
        dest="qlab_hosts",
        type=host_address,
        metavar="ssh://[USER@]HOST[:PORT]/PATH",
        help="a playback machine's volume, reached with your SSH keys and measured at the same "
        "moment as every other host and --volume (fio's client/server through an SSH forward); "
        "repeat for each machine",
    )
    group.addoption(
        "--qlab-ssh-config",
        dest="qlab_ssh_config",
        type=non_empty_path,
        metavar="FILE",
        help="ssh_config file for the hosts (passed to ssh as -F; default: ~/.ssh/config)",
    )
    group.addoption(
        "--fio",
        dest="qlab_fio",
        metavar="PATH",
        help="fio binary to use (default: $QLAB_FIO, then bin/fio-<os>-<arch>, then fio on PATH)",
    )
    help_scale = (
        "compress every duration by F (0 < F <= 1); F < 1 is a REHEARSAL, not a qualification"
    )
    group.addoption(
        "--qlab-time-scale", dest="qlab_time_scale", type=time_scale, metavar="F", help=help_scale
    )
    help_require = "rating that makes the run pass: acceptable (default) or excellent"
    group.addoption(
        "--qlab-require", dest="qlab_require", type=rating_level, metavar="LEVEL", help=help_require
    )
    help_profile = (
        "show profile: a TOML file describing the show's streams, or a built-in name "
        "(default: the specified 1 x 440 MB/s + 3 x 72 MB/s show)"
    )
    group.addoption("--qlab-profile", dest="qlab_profile", metavar="TOML|NAME", help=help_profile)
    group.addoption(
        "--qlab-media",
        action="append",
        dest="qlab_media",
        type=non_empty_path,
        metavar="PATH",
        help="the show's own media on the volume: a movie, or a folder whose .mov/.mp4/.m4v "
        "files are all taken (repeatable); opened read-only and replayed frame by frame",
    )
    group.addoption(
        "--qlab-stream",
        action="append",
        dest="qlab_streams",
        metavar="SPEC",
        help="a stream of the show, instead of a profile: [COUNTx]CODEC:WIDTHxHEIGHT@FPS "
        "(e.g. hq:3840x2160@29.97, 3x422:1920x1080@25) or [COUNTx]<rate>MB/s@FPS "
        "(e.g. 2x18.4MB/s@29.97); repeat for each kind of stream",
    )
    help_dir = f"folder for the default HTML and JSON reports (default: {DEFAULT_REPORT_DIR})"
    group.addoption("--qlab-report-dir", dest="qlab_report_dir", metavar="DIR", help=help_dir)
    group.addoption(
        "--qlab-keep-files",
        dest="qlab_keep_files",
        action="store_true",
        help="keep the scratch folder on the volume after the run, for inspection",
    )
    help_progress = (
        "seconds between progress lines when the output is not a terminal (default: 60 at "
        "full scale, compressed by the time scale; a terminal shows one line updated in place)"
    )
    group.addoption(
        "--qlab-progress-interval",
        dest="qlab_progress_interval",
        type=progress_interval,
        metavar="SECONDS",
        help=help_progress,
    )
    help_drop = (
        "percent drop below the early baseline that counts as throttling in the long runs "
        "(default 20)"
    )
    group.addoption(
        "--qlab-throttle-drop",
        dest="qlab_throttle_drop",
        type=throttle_drop_percent,
        metavar="PERCENT",
        help=help_drop,
    )
    help_time = "seconds a drop must last to count as throttling, at full scale (default 30)"
    group.addoption(
        "--qlab-throttle-time",
        dest="qlab_throttle_time",
        type=throttle_time,
        metavar="SECONDS",
        help=help_time,
    )
    help_history = (
        "drive history: a SQLite FILE, a database URL (postgresql+psycopg://user@host/qlab, "
        "shared by many stations) or off (default: history.sqlite3 in the user's data folder)"
    )
    group.addoption(
        "--qlab-history",
        dest="qlab_history",
        type=history_setting,
        metavar="FILE|URL|off",
        help=help_history,
    )
    help_frametimes = (
        "save every replayed frame's timing (stream, frame, due, completed, latency, lateness, "
        "dropped) as CSV beside the HTML report, named <report>-frametimes.csv"
    )
    group.addoption(
        "--qlab-frametimes",
        dest="qlab_frametimes",
        action="store_true",
        default=None,
        help=help_frametimes,
    )
    parser.addini("qlab_frametimes", help_frametimes, type="bool", default=False)
    parser.addini("qlab_time_scale", help_scale)
    parser.addini("qlab_history", help_history)
    parser.addini("qlab_progress_interval", help_progress)
    parser.addini("qlab_require", help_require)
    parser.addini("qlab_report_dir", help_dir)
    parser.addini("qlab_profile", help_profile)


def _from_ini(config: pytest.Config, name: str, parse: Callable[[str], Any]) -> Any:
    raw = config.getini(name)
    if not raw:
        return None
    try:
        return parse(str(raw))
    except Exception as exc:
        where = config.inipath or "the ini file"
        raise pytest.UsageError(f"ini option {name} in {where}: {exc}") from None


def _ini_flag(config: pytest.Config, name: str) -> bool:
    """pytest reads a bool ini value itself, and refuses a bad one without naming it: the line
    names the option and the file, like the rest."""
    try:
        return bool(config.getini(name))
    except (ValueError, pytest.UsageError) as exc:
        where = config.inipath or "the ini file"
        raise pytest.UsageError(f"ini option {name} in {where}: {exc}") from None


def read_options(config: pytest.Config) -> QlabOptions:
    """Command line > ini > default."""
    scale = config.getoption("qlab_time_scale")
    if scale is None:
        scale = _from_ini(config, "qlab_time_scale", time_scale)
    require = config.getoption("qlab_require") or _from_ini(config, "qlab_require", rating_level)
    report_dir = config.getoption("qlab_report_dir") or config.getini("qlab_report_dir")
    profile = config.getoption("qlab_profile") or config.getini("qlab_profile")
    streams = tuple(config.getoption("qlab_streams") or ())
    if streams and config.getoption("qlab_profile"):
        raise pytest.UsageError(
            "--qlab-stream and --qlab-profile both describe the show: drop --qlab-profile to "
            "play the streams, or drop every --qlab-stream to play the profile"
        )
    interval_s = config.getoption("qlab_progress_interval")
    if interval_s is None:
        interval_s = _from_ini(config, "qlab_progress_interval", progress_interval)
    history = config.getoption("qlab_history")
    if history is None:
        history = _from_ini(config, "qlab_history", history_setting)
    frametimes = config.getoption("qlab_frametimes")
    if frametimes is None:
        frametimes = _ini_flag(config, "qlab_frametimes")
    return QlabOptions(
        volumes=tuple(config.getoption("qlab_volumes") or ()),
        profile=str(profile) if profile else None,
        fio=config.getoption("qlab_fio"),
        time_scale=1.0 if scale is None else scale,
        require=require or Rating.ACCEPTABLE,
        report_dir=Path(report_dir or DEFAULT_REPORT_DIR),
        keep_files=bool(config.getoption("qlab_keep_files")),
        progress_interval_s=interval_s,
        throttle_drop_fraction=config.getoption("qlab_throttle_drop") or 0.20,
        throttle_min_s=config.getoption("qlab_throttle_time") or 30.0,
        media=tuple(config.getoption("qlab_media") or ()),
        streams=streams,
        history=history,
        hosts=tuple(config.getoption("qlab_hosts") or ()),
        ssh_config=config.getoption("qlab_ssh_config"),
        frametimes=frametimes,
    )
