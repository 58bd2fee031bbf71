"""The plugin's fixtures: each assembles a piece of the core for one volume. Users may override
any of them in their own conftest.py."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Protocol, TypeVar

import pytest

from pytest_qlab.core.evidence import MetadataValue
from pytest_qlab.core.progress import (
    LiveProgress,
    ProgressFactory,
    TerminalSink,
    default_interval_s,
    silent_progress,
)
from pytest_qlab.core.rows import Reportable
from pytest_qlab.core.session import QlabSession
from pytest_qlab.core.verdict import Rating, Requirement
from pytest_qlab.drive import probe_drive
from pytest_qlab.drive.advisories import Advisory, collect_advisories
from pytest_qlab.fio import FioError, FioInterruptedError, FioRunner
from pytest_qlab.fleet.checks import (
    HOST_THERMAL,
    FleetSetupCheck,
    FleetShowPatternCheck,
    FleetSustainedCheck,
)
from pytest_qlab.fleet.client import HostLostError
from pytest_qlab.history.compare import history_advisory
from pytest_qlab.history.identity import drive_key
from pytest_qlab.modes.media import MediaCheck
from pytest_qlab.modes.setup_check import SetupCheck, SetupCheckPlan
from pytest_qlab.modes.show_pattern import ShowPatternCheck, ShowPatternPlan
from pytest_qlab.modes.sustained import SustainedCheck, SustainedPlan
from pytest_qlab.plugin.keys import (
    HISTORY_KEY,
    ITEM_METADATA_KEY,
    ITEM_ROW_KEY,
    SESSION_KEY,
    SUITE_FLAG,
)
from pytest_qlab.safety.faults import explain_failure
from pytest_qlab.safety.signals import interruption_name
from pytest_qlab.safety.volume import (
    ScratchSpace,
    TargetVolume,
    VolumeError,
    check_free_space,
    free_space,
    new_run_id,
)
from pytest_qlab.thermal import DEFAULT_INTERVAL_S, ThermalMonitor

T = TypeVar("T")


class Measure(Protocol):
    """`qlab_measure(action)`: the action's own result, typed, or one clear failure."""

    def __call__(self, action: Callable[[], T], /) -> T: ...


class Record(Protocol):
    """`qlab_record(result)`: a result (its figures and summary row) or plain figures."""

    def __call__(self, result: Reportable | Mapping[str, MetadataValue], /) -> None: ...


class Gate(Protocol):
    """`qlab_gate(level, met, message)`: fail, or XFAIL above the required level."""

    def __call__(self, level: Rating, met: bool, message: str, /) -> None: ...


Requirements = Callable[[Rating], Requirement]


@pytest.fixture(scope="session")
def qlab_session(request: pytest.FixtureRequest) -> QlabSession:
    """The run's state; exists only in a qualification run (a conftest sets QLAB_SUITES = True)."""
    session = request.config.stash.get(SESSION_KEY, None)
    if session is None:
        pytest.fail(
            "pytest-qlab fixtures need a qualification run: "
            f"set {SUITE_FLAG} = True in a conftest.py",
            pytrace=False,
        )
    return session


@pytest.fixture(scope="session")
def qlab_volume(request: pytest.FixtureRequest, qlab_session: QlabSession) -> TargetVolume:
    """The volume under test; parametrized over every --volume."""
    target: TargetVolume = getattr(request, "param", qlab_session.targets[0])
    return target


@pytest.fixture(scope="session")
def qlab_advisories(qlab_session: QlabSession, qlab_volume: TargetVolume) -> dict[str, Advisory]:
    """Pre-show advisories for this volume by name, read once (mdutil, pmset, tmutil, SMART)."""
    record = qlab_session.volume(qlab_volume)
    if qlab_session.fleet is not None and qlab_volume.host is not None:
        host = qlab_session.fleet.host(qlab_volume)
        platform = {"Darwin": "darwin", "Linux": "linux"}.get(host.facts.platform, "other")
        record.advisories = collect_advisories(
            qlab_volume.path, host.drive, platform, run=host.ssh.run
        )
        return {advisory.name: advisory for advisory in record.advisories}
    drive = record.drive or probe_drive(qlab_volume.path)
    record.advisories = collect_advisories(qlab_volume.path, drive)
    return {advisory.name: advisory for advisory in record.advisories}


@pytest.fixture
def qlab_history_advisory(
    request: pytest.FixtureRequest, qlab_session: QlabSession, qlab_volume: TargetVolume
) -> Advisory:
    """This run's sequential read against the drive's best full-scale qualification in the
    drive history: listed under the verdict like the other advisories, never failing."""
    history = request.config.stash.get(HISTORY_KEY, None)
    record = qlab_session.volume(qlab_volume)
    past = None
    if history is not None:
        key = drive_key(record.drive, str(qlab_volume.mount_point), history.host)
        past = history.past(key)
    read = None if record.sequential_read is None else record.sequential_read.mb_s
    advisory = history_advisory(past, read)
    record.advisories = [*(a for a in record.advisories if a.name != advisory.name), advisory]
    return advisory


def _local_only(volume: TargetVolume, what: str) -> None:
    if volume.host is not None:
        pytest.skip(
            f"{what} run on this machine's volumes only, not yet on --qlab-host {volume.host}"
        )


@pytest.fixture(scope="session")
def qlab_setup_plan(qlab_session: QlabSession) -> SetupCheckPlan:
    return SetupCheckPlan.for_profile(qlab_session.profile, qlab_session.options.time_scale)


@pytest.fixture(scope="session")
def qlab_scratch(
    qlab_volume: TargetVolume, qlab_session: QlabSession, qlab_setup_plan: SetupCheckPlan
) -> Iterator[ScratchSpace]:
    """<volume>/.pytest-qlab/<run-id>/, removed at teardown (also after Ctrl-C and SIGTERM).
    A host's is its keeper's, removed on that host when the run or its connection ends."""
    if qlab_session.fleet is not None and qlab_volume.host is not None:
        yield ScratchSpace(qlab_volume, qlab_session.fleet.host(qlab_volume).keeper.run_id)
        return
    try:
        check_free_space(qlab_volume, qlab_setup_plan.scratch_bytes)
        scratch = ScratchSpace(qlab_volume, new_run_id())
        qlab_session.add_scratch(scratch)
        scratch.create()
    except VolumeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield scratch
    finally:
        if qlab_session.options.keep_files:
            scratch.keep()  # so the next run does not clean it up as a crashed run's leftover
            print(f"\nqlab: kept scratch files in {scratch.run_dir}")
        else:
            scratch.remove()


@pytest.fixture(scope="session")
def qlab_runner(qlab_scratch: ScratchSpace, qlab_session: QlabSession) -> Iterator[FioRunner]:
    """fio runner whose job, output and log files stay off the volume under test; a host's
    joins every host's runs into one fio client run."""
    if qlab_session.fleet is not None and qlab_scratch.volume.host is not None:
        yield qlab_session.fleet.host(qlab_scratch.volume).runner
        return
    with tempfile.TemporaryDirectory(prefix="pytest-qlab-control-") as control_dir:
        yield FioRunner(qlab_session.fio, Path(control_dir))


@pytest.fixture(scope="session")
def qlab_setup_check(
    qlab_runner: FioRunner,
    qlab_scratch: ScratchSpace,
    qlab_setup_plan: SetupCheckPlan,
    qlab_session: QlabSession,
    qlab_volume: TargetVolume,
) -> SetupCheck:
    """The setup check's measurements on this volume, each taken once; on a fleet host, taken
    on every host at the same moment."""
    record = qlab_session.volume(qlab_volume)
    fleet = qlab_session.fleet
    if fleet is not None and qlab_volume.host is not None:
        checks = qlab_session.fleet_checks
        if checks is None:
            checks = qlab_session.fleet_checks = FleetSetupCheck.for_fleet(
                fleet,
                qlab_setup_plan,
                qlab_session.profile,
                lambda host: qlab_session.volume(host.target),
                qlab_session.frame_sink,
            )
        return checks[qlab_volume.key]
    return SetupCheck(
        qlab_runner,
        qlab_scratch,
        qlab_setup_plan,
        qlab_session.profile,
        record,
        frame_times=qlab_session.frame_times(qlab_volume),
    )


@pytest.fixture(scope="session")
def qlab_media(
    qlab_runner: FioRunner,
    qlab_setup_plan: SetupCheckPlan,
    qlab_session: QlabSession,
    qlab_volume: TargetVolume,
) -> MediaCheck:
    """The show's own media on this volume, replayed read-only; skips a volume without any."""
    record = qlab_session.volume(qlab_volume)
    _local_only(qlab_volume, "the show's own media")
    if not record.media:
        pytest.skip(f"no --qlab-media on {qlab_volume.name}")
    buffer_frames = qlab_session.profile.player_buffer_frames
    return MediaCheck(
        qlab_runner,
        qlab_setup_plan,
        record,
        buffer_frames=buffer_frames,
        frame_times=qlab_session.frame_times(qlab_volume),
    )


@pytest.fixture(scope="session")
def qlab_progress(request: pytest.FixtureRequest, qlab_session: QlabSession) -> ProgressFactory:
    """Live progress lines through pytest's terminal reporter, past output capture: one line
    rewritten in place on a terminal, one per --qlab-progress-interval in a log."""
    config = request.config
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:  # -p no:terminal
        return silent_progress
    capture = config.pluginmanager.get_plugin("capturemanager")
    options = qlab_session.options
    interval_s = options.progress_interval_s or default_interval_s(options.time_scale)

    def start(what: str, planned_s: float) -> LiveProgress:
        del what, planned_s  # the lines carry them; one sink per line keeps its own state
        return LiveProgress(TerminalSink(reporter, capture), interval_s=interval_s)

    return start


@pytest.fixture(scope="session")
def qlab_thermal(qlab_session: QlabSession, qlab_volume: TargetVolume) -> Iterator[ThermalMonitor]:
    """The drive's temperature, watched by one background thread per volume while its long
    tests run; a rehearsal samples every second so its few minutes still get a series."""
    if qlab_volume.host is not None:
        yield ThermalMonitor(None, unavailable_reason=HOST_THERMAL)
        return
    record = qlab_session.volume(qlab_volume)
    drive = record.drive or probe_drive(qlab_volume.path)
    interval_s = DEFAULT_INTERVAL_S if not qlab_session.options.rehearsal else 1.0
    with ThermalMonitor.for_drive(drive, interval_s=interval_s) as monitor:
        yield monitor


@pytest.fixture(scope="session")
def qlab_sustained(
    qlab_runner: FioRunner,
    qlab_scratch: ScratchSpace,
    qlab_session: QlabSession,
    qlab_volume: TargetVolume,
    qlab_thermal: ThermalMonitor,
    qlab_progress: ProgressFactory,
) -> SustainedCheck:
    """Max sustained read and write on this volume; the read file is laid out (after a
    free-space check for both files) by the first test that needs it."""
    record = qlab_session.volume(qlab_volume)
    plan = SustainedPlan.for_options(qlab_session.options)
    fleet = qlab_session.fleet
    if fleet is not None and qlab_volume.host is not None:
        checks = qlab_session.fleet_sustained
        if checks is None:
            checks = qlab_session.fleet_sustained = FleetSustainedCheck.for_fleet(
                fleet, plan, lambda host: qlab_session.volume(host.target), qlab_progress
            )
        return checks[qlab_volume.key]
    return SustainedCheck(
        qlab_runner,
        qlab_scratch,
        plan,
        record,
        qlab_thermal,
        progress=qlab_progress,
        probe=lambda: probe_drive(qlab_volume.path),
    )


@pytest.fixture(scope="session")
def qlab_show_pattern(
    qlab_runner: FioRunner,
    qlab_scratch: ScratchSpace,
    qlab_session: QlabSession,
    qlab_volume: TargetVolume,
    qlab_thermal: ThermalMonitor,
    qlab_progress: ProgressFactory,
) -> ShowPatternCheck:
    """The show pattern on this volume: stream files sized from the free space at its start;
    on a fleet host, each phase played on every host at the same moment."""
    record = qlab_session.volume(qlab_volume)
    windows = SustainedPlan.for_options(qlab_session.options)
    fleet = qlab_session.fleet
    if fleet is not None and qlab_volume.host is not None:
        checks = qlab_session.fleet_show_pattern
        if checks is None:
            checks = qlab_session.fleet_show_pattern = FleetShowPatternCheck.for_fleet(
                fleet,
                qlab_session.profile,
                qlab_session.options.time_scale,
                lambda host: qlab_session.volume(host.target),
                progress=qlab_progress,
                windows=windows,
                frame_sink=qlab_session.frame_sink,
            )
        return checks[qlab_volume.key]
    plan = ShowPatternPlan.for_profile(
        qlab_session.profile,
        qlab_session.options.time_scale,
        free_space(qlab_volume.path).free_bytes,
    )
    return ShowPatternCheck(
        qlab_runner,
        qlab_scratch,
        plan,
        qlab_session.profile,
        record,
        thermal=qlab_thermal,
        windows=windows,
        progress=qlab_progress,
        frame_times=qlab_session.frame_times(qlab_volume),
    )


@pytest.fixture
def qlab_phase(request: pytest.FixtureRequest) -> str:
    """The show-pattern phase of this item; parametrized over the profile's phases, in order."""
    name: str = request.param
    return name


@pytest.fixture
def qlab_measure(qlab_session: QlabSession, qlab_volume: TargetVolume) -> Measure:
    """Run a measurement: an interruption marks the volume INTERRUPTED and stops the run; a fio
    or volume failure fails this test with fio's one clear message, not a traceback."""
    record = qlab_session.volume(qlab_volume)

    def measure(action: Callable[[], T]) -> T:
        try:
            return action()
        except HostLostError as exc:
            # this host is INTERRUPTED; the others go on and keep their results
            record.interrupted = True
            message = f"host {qlab_volume.host} dropped out: {exc}"
        except KeyboardInterrupt as exc:
            record.interrupted = True
            name = exc.signal_name if isinstance(exc, FioInterruptedError) else None
            qlab_session.interrupted_by = name or interruption_name(exc)
            raise
        except (FioError, VolumeError) as exc:
            message = explain_failure(exc, qlab_session.scratch_of(qlab_volume))
            record.errors.append(message)
        # Failing outside the except block: pytest would print the caught error again as the
        # failure's context, a traceback-like chain where one sentence is wanted.
        pytest.fail(message, pytrace=False)

    return measure


@pytest.fixture
def qlab_record(request: pytest.FixtureRequest) -> Record:
    """Attach a result to this test: its figures (unit-suffixed names) go to the JSON metadata
    and the HTML row, and a result's own summary row to the report's tables. A plain mapping
    adds figures only."""
    metadata: dict[str, MetadataValue] = request.node.stash.setdefault(ITEM_METADATA_KEY, {})

    def record(result: Reportable | Mapping[str, MetadataValue]) -> None:
        if isinstance(result, Mapping):
            metadata.update(result)
            return
        metadata.update(result.metadata())
        request.node.stash[ITEM_ROW_KEY] = result.report_row()

    return record


@pytest.fixture
def qlab_requirement(qlab_session: QlabSession) -> Requirements:
    def lookup(level: Rating) -> Requirement:
        return next(item for item in qlab_session.requirements if item.level is level)

    return lookup


@pytest.fixture
def qlab_gate(qlab_session: QlabSession) -> Gate:
    """Fail when a check at or below the required level is missed; a miss above it is an
    expected failure (XFAIL), so the exit code follows --qlab-require."""
    required = qlab_session.options.require

    def gate(level: Rating, met: bool, message: str) -> None:
        if met:
            return
        if level.rank > required.rank:
            pytest.xfail(f"{message}; not required (--qlab-require {required.value})")
        pytest.fail(message, pytrace=False)

    return gate
