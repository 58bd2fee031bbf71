"""The setup check on a fleet host: each measurement, asked for by any host's test, is taken on
every host at the same moment (the first host's test triggers it, the others find it done)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from pytest_qlab.core.evidence import VolumeRecord
from pytest_qlab.core.profiles import ShowProfile
from pytest_qlab.core.progress import ProgressFactory
from pytest_qlab.fleet.errors import HostError
from pytest_qlab.fleet.fleet import Fleet, FleetHost
from pytest_qlab.fleet.preflight import check_room, read_volume
from pytest_qlab.fleet.remote_drive import probe_host_drive
from pytest_qlab.measure.bandwidth import BandwidthResult, LayoutResult
from pytest_qlab.measure.capacity import CapacityResult
from pytest_qlab.measure.frametimes import FrameTimes, RowSink
from pytest_qlab.measure.phase import PhaseResult
from pytest_qlab.measure.replay import ReplayResult
from pytest_qlab.measure.sustained_outcome import SustainedOutcome
from pytest_qlab.modes.setup_check import SetupCheck, SetupCheckPlan
from pytest_qlab.modes.show_pattern import ShowPatternCheck, ShowPatternPlan
from pytest_qlab.modes.sustained import SustainedCheck, SustainedPlan
from pytest_qlab.safety.volume import ScratchSpace
from pytest_qlab.thermal import ThermalMonitor

T = TypeVar("T")


C = TypeVar("C")


def at_once(
    fleet: Fleet, host: FleetHost, checks: Mapping[str, C], own: C, measure: Callable[[C], T]
) -> T:
    """Inside a host's thread the measurement runs as it is; outside, on every host at once,
    and this host's outcome is returned (or raised)."""
    if fleet.rounds.inside():
        return measure(own)
    lost = fleet.rounds.lost(host.target.key)
    if lost is not None:
        raise lost
    outcomes = fleet.together(lambda each: measure(checks[each.target.key]))
    outcome = outcomes[host.target.key]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


class FleetSetupCheck(SetupCheck):
    def __init__(
        self,
        fleet: Fleet,
        host: FleetHost,
        plan: SetupCheckPlan,
        profile: ShowProfile,
        record: VolumeRecord,
        frame_sink: RowSink | None = None,
    ) -> None:
        # the scratch folder is the keeper's on the host: this object only names its path
        scratch = ScratchSpace(host.target, host.keeper.run_id)
        frame_times = None if frame_sink is None else FrameTimes(frame_sink, host.target.name)
        super().__init__(host.runner, scratch, plan, profile, record, frame_times=frame_times)
        self.fleet = fleet
        self.host = host
        self.others: dict[str, FleetSetupCheck] = {}
        """Every host's check, this one included, by target key: filled in by `for_fleet`."""

    @classmethod
    def for_fleet(
        cls,
        fleet: Fleet,
        plan: SetupCheckPlan,
        profile: ShowProfile,
        record_of: Callable[[FleetHost], VolumeRecord],
        frame_sink: RowSink | None = None,
    ) -> dict[str, FleetSetupCheck]:
        """`frame_sink`: the run's per-frame timings CSV (--qlab-frametimes), if asked for."""
        checks = {
            key: cls(fleet, host, plan, profile, record_of(host), frame_sink)
            for key, host in fleet.hosts.items()
        }
        for check in checks.values():
            check.others = checks
        return checks

    def _at_once(self, measure: Callable[[SetupCheck], T]) -> T:
        return at_once(self.fleet, self.host, self.others, self, measure)

    def layout(self) -> LayoutResult:
        return self._at_once(SetupCheck.layout)

    def sequential_read(self) -> BandwidthResult:
        return self._at_once(SetupCheck.sequential_read)

    def sequential_write(self) -> BandwidthResult:
        return self._at_once(SetupCheck.sequential_write)

    def normal_replay(self) -> ReplayResult:
        return self._at_once(SetupCheck.normal_replay)

    def crossfade_replay(self) -> ReplayResult:
        return self._at_once(SetupCheck.crossfade_replay)

    def capacity(self) -> CapacityResult:
        return self._at_once(SetupCheck.capacity)


HOST_THERMAL = "a fleet host's drive temperature is not watched during the run"


def room_on(host: FleetHost, files_bytes: int) -> None:
    """Refuse before writing when the files do not fit on the host, as its own df says now."""
    check_room(read_volume(host.ssh), host.target.host or "", files_bytes)


class FleetSustainedCheck(SustainedCheck):
    """The max sustained read and write on every host at the same moment: shared storage
    carries every host's flat-out load at once, as a show's worst case."""

    def __init__(
        self,
        fleet: Fleet,
        host: FleetHost,
        plan: SustainedPlan,
        record: VolumeRecord,
        progress: ProgressFactory,
    ) -> None:
        super().__init__(
            host.runner,
            ScratchSpace(host.target, host.keeper.run_id),
            plan,
            record,
            ThermalMonitor(None, unavailable_reason=HOST_THERMAL),
            progress=progress,
            probe=lambda: probe_host_drive(host.ssh, host.facts),
        )
        self.fleet = fleet
        self.host = host
        self.others: dict[str, FleetSustainedCheck] = {}

    def check_room(self, files_bytes: int) -> None:
        room_on(self.host, files_bytes)

    def read(self) -> SustainedOutcome:
        return at_once(self.fleet, self.host, self.others, self, SustainedCheck.read)

    def write(self) -> SustainedOutcome:
        return at_once(self.fleet, self.host, self.others, self, SustainedCheck.write)

    @classmethod
    def for_fleet(
        cls,
        fleet: Fleet,
        plan: SustainedPlan,
        record_of: Callable[[FleetHost], VolumeRecord],
        progress: ProgressFactory,
    ) -> dict[str, FleetSustainedCheck]:
        checks = {
            key: cls(fleet, host, plan, record_of(host), progress)
            for key, host in fleet.hosts.items()
        }
        for each in checks.values():
            each.others = checks
        return checks


class FleetShowPatternCheck(ShowPatternCheck):
    """The show's phases played on every host at the same moment, each host from stream files
    sized by its own free space: shared storage lives the whole fleet's night at once."""

    def __init__(
        self,
        fleet: Fleet,
        host: FleetHost,
        profile: ShowProfile,
        time_scale: float,
        record: VolumeRecord,
        *,
        progress: ProgressFactory,
        windows: SustainedPlan,
        frame_sink: RowSink | None = None,
    ) -> None:
        try:
            free_bytes = read_volume(host.ssh).free_bytes
        except HostError:  # a host lost since it was checked: its own items say so
            free_bytes = host.facts.free_bytes
        plan = ShowPatternPlan.for_profile(profile, time_scale, free_bytes)
        frame_times = None if frame_sink is None else FrameTimes(frame_sink, host.target.name)
        super().__init__(
            host.runner,
            ScratchSpace(host.target, host.keeper.run_id),
            plan,
            profile,
            record,
            thermal=ThermalMonitor(None, unavailable_reason=HOST_THERMAL),
            progress=progress,
            windows=windows,
            frame_times=frame_times,
        )
        self.fleet = fleet
        self.host = host
        self.others: dict[str, FleetShowPatternCheck] = {}

    def check_room(self, files_bytes: int) -> None:
        room_on(self.host, files_bytes)

    def layout(self) -> LayoutResult:
        return at_once(self.fleet, self.host, self.others, self, ShowPatternCheck.layout)

    def phase(self, name: str) -> PhaseResult:
        return at_once(
            self.fleet,
            self.host,
            self.others,
            self,
            lambda check: ShowPatternCheck.phase(check, name),
        )

    @classmethod
    def for_fleet(
        cls,
        fleet: Fleet,
        profile: ShowProfile,
        time_scale: float,
        record_of: Callable[[FleetHost], VolumeRecord],
        *,
        progress: ProgressFactory,
        windows: SustainedPlan,
        frame_sink: RowSink | None = None,
    ) -> dict[str, FleetShowPatternCheck]:
        """`frame_sink`: the run's per-frame timings CSV (--qlab-frametimes), if asked for."""
        checks = {
            key: cls(
                fleet,
                host,
                profile,
                time_scale,
                record_of(host),
                progress=progress,
                windows=windows,
                frame_sink=frame_sink,
            )
            for key, host in fleet.hosts.items()
        }
        for each in checks.values():
            each.others = checks
        return checks
