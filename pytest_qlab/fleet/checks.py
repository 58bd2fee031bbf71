"""The setup check on a fleet host: each measurement, asked for by any host's test, is taken on
every host at the same moment (the first host's test triggers it, the others find it done)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from pytest_qlab.core.evidence import VolumeRecord
from pytest_qlab.core.profiles import ShowProfile
from pytest_qlab.fleet.fleet import Fleet, FleetHost
from pytest_qlab.measure.bandwidth import BandwidthResult, LayoutResult
from pytest_qlab.measure.capacity import CapacityResult
from pytest_qlab.measure.frametimes import FrameTimes, RowSink
from pytest_qlab.measure.replay import ReplayResult
from pytest_qlab.modes.setup_check import SetupCheck, SetupCheckPlan
from pytest_qlab.safety.volume import ScratchSpace

T = TypeVar("T")


class LockedSink:
    """Every host judges its frames in its own thread: their rows reach the one CSV whole."""

    def __init__(self, sink: RowSink) -> None:
        self._sink = sink
        self._lock = threading.Lock()

    def write_row(self, line: str) -> None:
        with self._lock:
            self._sink.write_row(line)

    def flush(self) -> None:
        with self._lock:
            self._sink.flush()


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
        shared = None if frame_sink is None else LockedSink(frame_sink)
        checks = {
            key: cls(fleet, host, plan, profile, record_of(host), shared)
            for key, host in fleet.hosts.items()
        }
        for check in checks.values():
            check.others = checks
        return checks

    def _at_once(self, measure: Callable[[SetupCheck], T]) -> T:
        """Inside a host's thread the measurement runs as it is; outside, on every host."""
        if self.fleet.rounds.inside():
            return measure(self)
        lost = self.fleet.rounds.lost(self.host.target.key)
        if lost is not None:
            raise lost
        outcomes = self.fleet.together(lambda host: measure(self.others[host.target.key]))
        outcome = outcomes[self.host.target.key]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

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
