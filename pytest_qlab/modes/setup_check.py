"""The setup check's measurements on one volume, each taken once and recorded, usable without
pytest: lay out files, sequential write and read, normal and crossfade replays, capacity."""

from __future__ import annotations

import math
from dataclasses import dataclass

from pytest_qlab.core.evidence import LayoutKind, VolumeRecord
from pytest_qlab.core.profiles import ShowProfile, StreamSpec
from pytest_qlab.core.scale import scaled_bytes, scaled_seconds
from pytest_qlab.core.units import BYTES_PER_GIB, BYTES_PER_MIB
from pytest_qlab.core.verdict import RequirementKey
from pytest_qlab.fio.runner import FioRunner
from pytest_qlab.measure.bandwidth import (
    SEQUENTIAL_BLOCK_BYTES,
    BandwidthResult,
    LayoutResult,
    lay_out,
    measure_sequential,
)
from pytest_qlab.measure.capacity import CapacityResult, search_max_streams
from pytest_qlab.measure.movies import with_movies
from pytest_qlab.measure.replay import ReplayResult, ReplayStream, expand, replay, stream_count
from pytest_qlab.modes.once import Once
from pytest_qlab.safety.volume import ScratchSpace

SETUP_READ_S = 6.0
SETUP_WRITE_S = 6.0
SETUP_REPLAY_S = 5.0
SETUP_READ_FILE_BYTES = 2 * BYTES_PER_GIB
"""Larger than any drive's DRAM cache, and laid out in about 2 s on a 1 GB/s drive."""
SETUP_WRITE_FILE_BYTES = BYTES_PER_GIB
STREAM_FILE_BYTES = 128 * BYTES_PER_MIB
MINIMUM_FRAMES_PER_STREAM_FILE = 8
"""A replay loops over its file; a few frames per pass keep passes distinguishable."""
CAPACITY_PROBE_S = 2.0
CAPACITY_MAX_STREAMS = 32
"""Also keeps jobs x iodepth within macOS's 90 AIO requests system-wide."""


def stream_file_name(index: int) -> str:
    return f"stream-{index:02d}.bin"


@dataclass(frozen=True)
class SetupCheckPlan:
    time_scale: float
    read_file_bytes: int
    write_file_bytes: int
    read_duration_s: float
    write_duration_s: float
    stream_file_bytes: int
    stream_files: int
    """Enough files for the larger of the normal set and the crossfade overlap."""
    normal_duration_s: float
    crossfade_duration_s: float
    capacity_probe_s: float

    @classmethod
    def for_profile(cls, profile: ShowProfile, time_scale: float) -> SetupCheckPlan:
        largest_frame = max(
            stream.frame_bytes for stream in profile.crossfade_streams + profile.streams
        )
        stream_bytes = max(
            scaled_bytes(STREAM_FILE_BYTES, time_scale),
            MINIMUM_FRAMES_PER_STREAM_FILE * largest_frame,
        )
        return cls(
            time_scale=time_scale,
            read_file_bytes=scaled_bytes(SETUP_READ_FILE_BYTES, time_scale),
            write_file_bytes=scaled_bytes(SETUP_WRITE_FILE_BYTES, time_scale),
            read_duration_s=scaled_seconds(SETUP_READ_S, time_scale),
            write_duration_s=scaled_seconds(SETUP_WRITE_S, time_scale),
            stream_file_bytes=-(-stream_bytes // SEQUENTIAL_BLOCK_BYTES) * SEQUENTIAL_BLOCK_BYTES,
            stream_files=max(
                stream_count(profile.streams), stream_count(profile.crossfade_streams)
            ),
            normal_duration_s=scaled_seconds(SETUP_REPLAY_S, time_scale),
            crossfade_duration_s=scaled_seconds(profile.crossfade.duration_s, time_scale),
            capacity_probe_s=scaled_seconds(CAPACITY_PROBE_S, time_scale),
        )

    @property
    def layout_files(self) -> tuple[tuple[str, int], ...]:
        """The read-test file and the stream files, laid out once per volume."""
        streams = tuple(
            (stream_file_name(index), self.stream_file_bytes)
            for index in range(1, self.stream_files + 1)
        )
        return (("sequential-read.bin", self.read_file_bytes), *streams)

    @property
    def scratch_bytes(self) -> int:
        """The most the run may write: every file, capacity probes at their largest included."""
        stream_files = max(self.stream_files, CAPACITY_MAX_STREAMS)
        return self.read_file_bytes + self.write_file_bytes + stream_files * self.stream_file_bytes


READ_FILE = "sequential-read.bin"
WRITE_FILE = "sequential-write.bin"


class SetupCheck:
    """Measurements are cached, failures too, so several test items can share one measurement
    without repeating a slow or failing fio run."""

    def __init__(
        self,
        runner: FioRunner,
        scratch: ScratchSpace,
        plan: SetupCheckPlan,
        profile: ShowProfile,
        record: VolumeRecord,
    ) -> None:
        self.runner = runner
        self.scratch = scratch
        self.plan = plan
        self.profile = profile
        self.record = record
        self._once = Once()
        self._stream_files = 0

    def layout(self) -> LayoutResult:
        def measure() -> LayoutResult:
            result = lay_out(self.runner, self.scratch.run_dir, self.plan.layout_files)
            self._stream_files = self.plan.stream_files
            self.record.add_layout(LayoutKind.SETUP_CHECK, result)
            return result

        return self._once("layout", measure)

    def ensure_stream_files(self, count: int) -> None:
        """Capacity probes may need more stream files than the profile's sets."""
        self.layout()
        if count <= self._stream_files:
            return
        extra = tuple(
            (stream_file_name(index), self.plan.stream_file_bytes)
            for index in range(self._stream_files + 1, count + 1)
        )
        result = lay_out(self.runner, self.scratch.run_dir, extra)
        self._stream_files = count
        self.record.add_layout(LayoutKind.SETUP_CHECK, result)

    def sequential_read(self) -> BandwidthResult:
        def measure() -> BandwidthResult:
            layout = self.layout()
            result = measure_sequential(
                self.runner,
                self.scratch.run_dir,
                READ_FILE,
                "read",
                layout.size_of(READ_FILE),
                self.plan.read_duration_s,
            )
            self.record.sequential_read = result
            return result

        return self._once("read", measure)

    def sequential_write(self) -> BandwidthResult:
        def measure() -> BandwidthResult:
            result = measure_sequential(
                self.runner,
                self.scratch.run_dir,
                WRITE_FILE,
                "write",
                self.plan.write_file_bytes,
                self.plan.write_duration_s,
            )
            self.record.sequential_write = result
            return result

        return self._once("write", measure)

    def _streams(self, specs: tuple[StreamSpec, ...]) -> list[ReplayStream]:
        """A stream given `frames_from` replays its reference movie's frames on its file. One
        naming a show file (`media`) plays at that file's peak rate here, a bound on its
        busiest second; the file itself plays in the media replay (`MediaCheck`)."""
        count = stream_count(specs)
        self.ensure_stream_files(count)
        names = [stream_file_name(index) for index in range(1, count + 1)]
        streams = expand(specs, names, self.plan.stream_file_bytes)
        return with_movies(streams, self.record.frame_sources, kinds=("frames_from",))

    def _replay(
        self, key: RequirementKey, specs: tuple[StreamSpec, ...], duration_s: float
    ) -> ReplayResult:
        def measure() -> ReplayResult:
            result = replay(
                self.runner,
                self.scratch.run_dir,
                self._streams(specs),
                duration_s=duration_s,
                buffer_frames=self.profile.player_buffer_frames,
                label=key.value,
            )
            self.record.replays[key] = result
            if result.dropped == 0:
                for spec in specs:
                    self.record.verify_streams(spec.cell_key, spec.count)
            return result

        return self._once(key, measure)

    def normal_replay(self) -> ReplayResult:
        return self._replay(
            RequirementKey.NORMAL_PLAYBACK, self.profile.streams, self.plan.normal_duration_s
        )

    def crossfade_replay(self) -> ReplayResult:
        return self._replay(
            RequirementKey.CROSSFADE_PEAK,
            self.profile.crossfade_streams,
            self.plan.crossfade_duration_s,
        )

    def capacity_limit(self, spec: StreamSpec) -> int:
        """Twice what the sustained read suggests, so the search can find the real ceiling
        without laying out files it cannot use."""
        estimate = math.ceil(2 * self.sequential_read().mb_s / spec.mb_s_each) + 1
        return max(2, min(CAPACITY_MAX_STREAMS, estimate))

    def heaviest_stream(self) -> StreamSpec:
        """The capacity search probes the profile's most demanding stream kind."""
        return max(self.profile.streams, key=lambda stream: stream.mb_s_each)

    def capacity(self) -> CapacityResult:
        spec = self.heaviest_stream()
        single = spec.model_copy(update={"count": 1})

        def probe(count: int) -> int:
            streams = self._streams((single.model_copy(update={"count": count}),))
            result = replay(
                self.runner,
                self.scratch.run_dir,
                streams,
                duration_s=self.plan.capacity_probe_s,
                buffer_frames=self.profile.player_buffer_frames,
                label=f"capacity-{count:02d}",
            )
            return result.dropped

        def measure() -> CapacityResult:
            limit = self.capacity_limit(spec)
            best, probes = search_max_streams(probe, limit)
            result = CapacityResult(single, best, limit, tuple(probes), needed_streams=spec.count)
            self.record.capacity = result
            self.record.verify_streams(spec.cell_key, best)
            return result

        return self._once("capacity", measure)
