"""pytest wiring for pytest-qlab: options, fixtures and hooks. Domain logic lives in the core.

The plugin is inert unless a conftest declares `QLAB_SUITES = True` (suites/conftest.py does),
so that `pytest tests/` and other projects are never affected by it.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from pytest_qlab.core.options import (
    DEFAULT_REPORT_DIR,
    QlabOptions,
    non_empty_path,
    progress_interval,
    rating_level,
    throttle_drop_percent,
    throttle_time,
    time_scale,
)
from pytest_qlab.core.profiles import ProfileError, load_profile
from pytest_qlab.core.session import MetadataValue, QlabSession
from pytest_qlab.core.verdict import Rating
from pytest_qlab.drive import probe_drive
from pytest_qlab.fio import FioError, locate_fio
from pytest_qlab.modes.setup_check import SetupCheckPlan
from pytest_qlab.plugin.fixtures import (
    ITEM_METADATA_KEY,
    SESSION_KEY,
    SUITE_FLAG,
    qlab_advisories,
    qlab_gate,
    qlab_measure,
    qlab_phase,
    qlab_progress,
    qlab_record,
    qlab_requirement,
    qlab_runner,
    qlab_scratch,
    qlab_session,
    qlab_setup_check,
    qlab_setup_plan,
    qlab_show_pattern,
    qlab_sustained,
    qlab_thermal,
    qlab_volume,
    session_of,
)
from pytest_qlab.plugin.json_report import add_qlab_block
from pytest_qlab.report.entries import TestEntry, compact
from pytest_qlab.report.html import report_title, verdict_banner
from pytest_qlab.report.paths import default_report_paths
from pytest_qlab.report.text import (
    layout_line,
    rehearsal_notice,
    system_disk_warning,
    target_line,
    verdict_line,
)
from pytest_qlab.safety.claim import VolumeClaim, claim_volume
from pytest_qlab.safety.drive_lock import drive_key, lock_drives
from pytest_qlab.safety.signals import install_terminate_handlers, interruption_name
from pytest_qlab.safety.volume import (
    TargetVolume,
    VolumeError,
    resolve_target,
    unique_names,
)

REPORT_PATHS_KEY = pytest.StashKey[list[Path]]()
TEST_ENTRIES_KEY = pytest.StashKey[dict[str, TestEntry]]()
"""Each qualification test's summary row, by node id, in run order, for the reports."""
LONG_RUNS_LEFT_OUT_KEY = pytest.StashKey[int]()
LONG_MARKERS = ("show_pattern", "sustained", "integrity")
"""Modes that take hours: run only when chosen with -m or by naming their file."""

# The fixtures are defined in pytest_qlab.plugin.fixtures; naming them here registers them.
__all__ = [
    "qlab_advisories",
    "qlab_gate",
    "qlab_measure",
    "qlab_phase",
    "qlab_progress",
    "qlab_record",
    "qlab_requirement",
    "qlab_runner",
    "qlab_scratch",
    "qlab_session",
    "qlab_setup_check",
    "qlab_setup_plan",
    "qlab_show_pattern",
    "qlab_sustained",
    "qlab_thermal",
    "qlab_volume",
]

MARKERS = {
    "setup_check": "setup check (~30 s): preflight, sequential read/write, playback replay, rating",
    "show_pattern": "show pattern (2.5 h): the show's phases back to back",
    "sustained": "max sustained (2 h): flat-out reads with thermal watch",
    "capacity": "maximum stream count: the most simultaneous streams without a dropped frame",
    "integrity": "data integrity (optional): crc32c-checked write and read-back, first bad offset",
}


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
    parser.addini("qlab_time_scale", help_scale)
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


def read_options(config: pytest.Config) -> QlabOptions:
    """Command line > ini > default."""
    scale = config.getoption("qlab_time_scale")
    if scale is None:
        scale = _from_ini(config, "qlab_time_scale", time_scale)
    require = config.getoption("qlab_require") or _from_ini(config, "qlab_require", rating_level)
    report_dir = config.getoption("qlab_report_dir") or config.getini("qlab_report_dir")
    profile = config.getoption("qlab_profile") or config.getini("qlab_profile")
    interval_s = config.getoption("qlab_progress_interval")
    if interval_s is None:
        interval_s = _from_ini(config, "qlab_progress_interval", progress_interval)
    return QlabOptions(
        volumes=tuple(config.getoption("qlab_volumes") or ()),
        profile=str(profile or "default"),
        fio=config.getoption("qlab_fio"),
        time_scale=1.0 if scale is None else scale,
        require=require or Rating.ACCEPTABLE,
        report_dir=Path(report_dir or DEFAULT_REPORT_DIR),
        keep_files=bool(config.getoption("qlab_keep_files")),
        progress_interval_s=interval_s,
        throttle_drop_fraction=config.getoption("qlab_throttle_drop") or 0.20,
        throttle_min_s=config.getoption("qlab_throttle_time") or 30.0,
    )


def is_qualification_run(config: pytest.Config) -> bool:
    return any(
        getattr(plugin, SUITE_FLAG, False) is True for plugin in config.pluginmanager.get_plugins()
    )


def _resolve_targets(options: QlabOptions) -> tuple[TargetVolume, ...]:
    try:
        if not options.volumes:
            return (resolve_target(tempfile.gettempdir(), is_system_default=True),)
        targets = tuple(resolve_target(raw) for raw in options.volumes)
    except VolumeError as exc:
        raise pytest.UsageError(str(exc)) from None
    seen: set[Path] = set()
    for target in targets:
        if target.path in seen:
            raise pytest.UsageError(f"volume {target.path} was given twice; give each volume once")
        seen.add(target.path)
    return unique_names(targets)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    if not is_qualification_run(config):
        return
    options = read_options(config)
    targets = _resolve_targets(options)
    try:
        fio = locate_fio(options.fio)
    except FioError as exc:
        raise pytest.UsageError(str(exc)) from None
    try:
        profile = load_profile(options.profile)
    except ProfileError as exc:
        raise pytest.UsageError(str(exc)) from None
    plan = SetupCheckPlan.for_profile(profile, options.time_scale)
    drives = {target.path: probe_drive(target.path) for target in targets}
    claims: dict[Path, VolumeClaim] = {}
    for target in targets:
        try:  # one run per volume: the lock is held until the very end of the run
            claims[target.path] = claim_volume(target, plan.scratch_bytes)
        except VolumeError as exc:
            raise pytest.UsageError(str(exc)) from None
        config.add_cleanup(claims[target.path].release)
    try:  # and one run per drive, whichever of its folders another run was given
        keys = [(path, drive_key(drive.whole_disk, path)) for path, drive in drives.items()]
        for lock in lock_drives(keys):
            config.add_cleanup(lock.release)
    except VolumeError as exc:
        raise pytest.UsageError(str(exc)) from None
    session = QlabSession(options=options, targets=targets, fio=fio, profile=profile)
    for path, claim in claims.items():
        session.volumes[str(path)].leftovers = claim.cleanup
    for record in session.volumes.values():
        record.drive = drives[record.target.path]
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(SessionHooks(config, session), "qlab-session")
    config.stash[REPORT_PATHS_KEY] = _default_reports(config, options, targets)
    config.add_cleanup(install_terminate_handlers())
    try:  # pytest-metadata may have configured before us, its hook then saw no session
        from pytest_metadata.plugin import metadata_key
    except ImportError:
        return
    if metadata_key in config.stash:
        _describe_run(config.stash[metadata_key], session)


def _default_reports(
    config: pytest.Config, options: QlabOptions, targets: tuple[TargetVolume, ...]
) -> list[Path]:
    """Set pytest-html/json-report outputs unless the user chose their own."""
    html_path, json_path = default_report_paths(options.report_dir, targets)
    written: list[Path] = []
    if not config.getoption("htmlpath", None):
        config.option.htmlpath = str(html_path)
        config.option.self_contained_html = True
    written.append(Path(config.option.htmlpath))
    user_json = config.getoption("json_report", False) or any(
        arg.startswith("--json-report-file") for arg in config.invocation_params.args
    )
    config.option.json_report = True
    if not user_json:
        config.option.json_report_file = str(json_path)
        config.option.json_report_indent = 2
    if config.option.json_report_file:
        written.append(Path(config.option.json_report_file))
    for path in written:
        path.parent.mkdir(parents=True, exist_ok=True)
    return written


def pytest_report_header(config: pytest.Config) -> list[str]:
    session = session_of(config)
    if session is None:
        return []
    lines = [
        f"qlab: {session.fio.version_text}, required rating {session.options.require.label}, "
        f"time scale {session.options.time_scale:g}"
    ]
    for target in session.targets:
        lines.append(f"qlab volume {target.name}: {target_line(target)}")
        cleanup = session.volumes[str(target.path)].leftovers
        if cleanup is not None:
            lines += [f"qlab {target.name}: {line}" for line in cleanup.lines()]
        drive = session.volumes[str(target.path)].drive
        if drive is not None:
            lines.append(f"qlab drive {target.name}: {drive.summary()}")
        if target.is_system_default:
            lines += ["!" * 78, f"!!! {system_disk_warning(target)}", "!" * 78]
        elif target.on_system_disk:
            lines.append(f"!!! {target.path} is on the system disk, not on a separate show drive")
    if session.options.rehearsal:
        lines.append(f"!!! {rehearsal_notice(session.options.time_scale)}")
    return lines


@pytest.hookimpl(optionalhook=True)
def pytest_metadata(metadata: dict[str, Any], config: pytest.Config) -> None:
    """pytest-metadata's table is the HTML report's Environment section."""
    session = session_of(config)
    if session is not None:
        _describe_run(metadata, session)


def _describe_run(metadata: dict[str, Any], session: QlabSession) -> None:
    for index, target in enumerate(session.targets, start=1):
        label = "QLab volume" if len(session.targets) == 1 else f"QLab volume {index}"
        metadata[label] = target_line(target) + (
            " (SYSTEM DISK)" if target.is_system_default else ""
        )
        drive = session.volumes[str(target.path)].drive
        if drive is not None:
            prefix = "" if len(session.targets) == 1 else f"{target.name}: "
            metadata.update({prefix + key: value for key, value in drive.metadata().items()})
    metadata["fio"] = f"{session.fio.version_text} ({session.fio.path})"
    metadata["Required rating"] = session.options.require.label
    metadata["Show profile"] = session.profile.name
    metadata["Time scale"] = f"{session.options.time_scale:g}" + (
        " (REHEARSAL)" if session.options.rehearsal else ""
    )


def _named_files(config: pytest.Config) -> set[Path]:
    base = config.invocation_params.dir
    return {(base / arg.split("::")[0]).resolve() for arg in config.args}


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """`pytest suites/` is the 30-second setup check; the show pattern (2.5 h) and the max
    sustained run (2 h) join only when asked for, so nobody starts a 5-hour run by accident.
    Asking means naming the mode's marker in -m (`-m "not capacity"` asks for none of them) or
    naming its file."""
    if session_of(config) is None:
        return
    named = _named_files(config)
    chosen = set(re.findall(r"\w+", config.option.markexpr or "")) & set(LONG_MARKERS)
    keep: list[pytest.Item] = []
    left_out: list[pytest.Item] = []
    for item in items:
        long_run = any(
            item.get_closest_marker(marker) for marker in LONG_MARKERS if marker not in chosen
        )
        (left_out if long_run and item.path.resolve() not in named else keep).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = keep
    config.stash[LONG_RUNS_LEFT_OUT_KEY] = len(left_out)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    session = session_of(metafunc.config)
    if session is None:
        return
    if "qlab_volume" in metafunc.fixturenames:
        ids = [target.name for target in session.targets]
        metafunc.parametrize(
            "qlab_volume", session.targets, indirect=True, scope="session", ids=ids
        )
    if "qlab_phase" in metafunc.fixturenames:
        names = [phase.name for phase in session.profile.show_phases]
        metafunc.parametrize("qlab_phase", names, indirect=True, ids=names)


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, object, object]:
    """A volume whose rating misses the requirement fails the run even if every item passed
    (e.g. the read test was deselected): exit code 0 means ready, nothing else."""
    try:
        return (yield)
    finally:
        qlab = session_of(session.config)
        if qlab is not None and not session.config.option.collectonly and not qlab.all_ready:
            session.testsfailed = max(session.testsfailed, 1)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    qlab = session_of(item.config)
    if qlab is None:
        return report
    # Here, not at the top: matplotlib loads (and caches fonts) only in a qualification run.
    from pytest_qlab.plugin.attach import entry_for, plot_extras

    metadata = item.stash.get(ITEM_METADATA_KEY, None) or {}
    entry = entry_for(item, report, metadata)
    if entry is not None:  # a teardown error replaces the call's "passed"
        item.config.stash.setdefault(TEST_ENTRIES_KEY, {})[item.nodeid] = entry
    if report.when == "call" and metadata:
        from pytest_html import extras

        existing = getattr(report, "extras", [])
        plots = plot_extras(metadata, qlab, item.name)
        measurements = extras.json(compact(metadata), name="measurements")
        report.extras = [*existing, *plots, measurements]  # type: ignore[attr-defined]
    return report


@pytest.hookimpl(optionalhook=True)
def pytest_json_runtest_metadata(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> dict[str, MetadataValue]:
    if call.when != "call":
        return {}
    metadata = item.stash.get(ITEM_METADATA_KEY, None)
    return {} if metadata is None else compact(metadata)


class SessionHooks:
    """Hooks registered only for a qualification run: an object bound to the run's session,
    because pytest-json-report's and the interrupt hook get no config."""

    def __init__(self, config: pytest.Config, session: QlabSession) -> None:
        self.config = config
        self.session = session
        self.html_report: Any = None

    def test_entries(self) -> list[TestEntry]:
        return list(self.config.stash.get(TEST_ENTRIES_KEY, {}).values())

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        if self.session.interrupted_by is None:
            self.session.interrupted_by = interruption_name(excinfo.value)

    @pytest.hookimpl(optionalhook=True)
    def pytest_json_modifyreport(self, json_report: dict[str, Any]) -> None:
        add_qlab_block(json_report, self.session, self.config, self.test_entries())

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report: Any) -> None:
        # Called at session start; the final title with the verdict is set in the summary hook.
        self.html_report = report
        report.title = "pytest-qlab qualification"

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix: list[str]) -> None:
        prefix.extend(verdict_banner(self.session, self.test_entries()))
        if self.html_report is not None:
            self.html_report.title = report_title(self.session)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Last resort: teardown normally removes the scratch directories, but not if it was skipped."""
    session = session_of(config)
    if session is not None and not session.options.keep_files:
        for scratch in session.scratch_spaces:
            scratch.remove()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    session = session_of(config)
    if session is None:
        return
    terminalreporter.section("pytest-qlab verdict", bold=True)
    if config.stash.get(LONG_RUNS_LEFT_OUT_KEY, 0):
        terminalreporter.line(
            "setup check only: the show pattern (2.5 h) and max sustained (2 h) runs join with "
            '-m "setup_check or show_pattern" / -m "setup_check or sustained" '
            "(or name their file)"
        )
    if session.options.rehearsal:
        terminalreporter.line(rehearsal_notice(session.options.time_scale), yellow=True, bold=True)
    if config.option.collectonly:
        terminalreporter.line("collect only: nothing was measured, no verdict")
    else:
        _write_verdicts(terminalreporter, session)
    for path in config.stash.get(REPORT_PATHS_KEY, []):
        terminalreporter.line(f"report: {path.resolve()}")


def _write_verdicts(terminalreporter: Any, session: QlabSession) -> None:
    if session.interrupted_by:
        terminalreporter.line(
            f"INTERRUPTED by {session.interrupted_by}: results are partial.", red=True, bold=True
        )
    for record in session.volumes.values():
        if record.target.is_system_default:
            terminalreporter.line(system_disk_warning(record.target), red=True, bold=True)
        ready = session.ready(record)
        terminalreporter.line(verdict_line(session, record), green=ready, red=not ready, bold=True)
        if record.drive is not None:
            terminalreporter.line(f"  drive: {record.drive.summary()}")
        for reason in session.decision(record).reasons:
            terminalreporter.line(f"  {reason}")
        for advisory in record.advisories:  # failures are among the reasons above
            if advisory.severity == "warn":
                terminalreporter.line(f"  WARN {advisory.title}: {advisory.message}", yellow=True)
        if record.capacity_summary:
            terminalreporter.line(f"  {record.capacity_summary}")
        layout = layout_line(record)
        if layout:
            terminalreporter.line(f"  {layout}")
