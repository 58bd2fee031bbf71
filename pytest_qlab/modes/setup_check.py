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
from pytest_qlab.measure.capacity import CapacityProbe, CapacityResult, search_max_streams
from pytest_qlab.measure.frametimes import FrameTimes
from pytest_qlab.measure.movies import with_movies
from pytest_qlab.measure.pool import ReadPool, ReadPoolUse, share_frames
from pytest_qlab.measure.replay import (
    REPLAY_IODEPTH,
    ReplayResult,
    ReplayStream,
    instance_labels,
    replay,
)
from pytest_qlab.modes.once import Once
from pytest_qlab.safety.volume import ScratchSpace

SETUP_READ_S = 6.0
SETUP_WRITE_S = 6.0
SETUP_REPLAY_S = 5.0
SETUP_READ_FILE_BYTES = 2 * BYTES_PER_GIB
"""Larger than any drive's DRAM cache, and laid out in about 2 s on a 1 GB/s drive."""
SETUP_WRITE_FILE_BYTES = BYTES_PER_GIB
READ_POOL_EXTRA_BYTES = 256 * BYTES_PER_MIB
"""Laid out after the read test's file: together they make the replays' read pool larger than
2 GiB, so a byte the replays read again was last read more than a drive cache ago."""
MINIMUM_FRAMES_PER_REGION = 8
"""A replay loops over its region; a few frames per pass keep passes distinguishable."""
FILE_ENDS_SKIPPED = 2
"""A region lies in one file: placed from the pool's start, the cursor may skip up to a
region's worth at the end of each file but the last (read test, pool file, an extension)."""
REGION_MARGIN_FRAMES = REPLAY_IODEPTH + 2
"""Frames a stream may read past its planned ones: fio's requests in flight as time runs out."""
CAPACITY_PROBE_S = 2.0
CAPACITY_MAX_STREAMS = 32
"""Also keeps jobs x iodepth within macOS's 90 AIO requests system-wide."""

READ_FILE = "sequential-read.bin"
WRITE_FILE = "sequential-write.bin"


def pool_file_name(index: int) -> str:
    """The read pool's files after the read test's: 1 is laid out with it, later ones only when
    a capacity probe needs more room."""
    return f"read-pool-{index:02d}.bin"


def _whole_blocks(size_bytes: int) -> int:
    return -(-size_bytes // SEQUENTIAL_BLOCK_BYTES) * SEQUENTIAL_BLOCK_BYTES


def minimum_regions_bytes(specs: tuple[StreamSpec, ...]) -> int:
    """What a replay of `specs` needs of the pool at the least: each stream's minimum region,
    side by side, plus room for a region skipped at the ends of files."""
    regions = [
        spec.frame_bytes * MINIMUM_FRAMES_PER_REGION for spec in specs for _ in range(spec.count)
    ]
    return sum(regions) + FILE_ENDS_SKIPPED * max(regions, default=0)


def extension_bytes(specs: tuple[StreamSpec, ...], pool_bytes: int) -> int:
    """What the pool needs added for a replay of `specs`, in a file that holds at least two of
    its largest regions (0: nothing)."""
    missing = minimum_regions_bytes(specs) - pool_bytes
    if missing <= 0:
        return 0
    largest = max(spec.frame_bytes for spec in specs) * MINIMUM_FRAMES_PER_REGION
    return _whole_blocks(max(missing, 2 * largest))


@dataclass(frozen=True)
class SetupCheckPlan:
    time_scale: float
    read_file_bytes: int
    write_file_bytes: int
    read_duration_s: float
    write_duration_s: float
    pool_extra_bytes: int
    """The pool file laid out after the read test's; with it the pool holds the minimum regions
    of the normal and the crossfade set."""
    capacity_extra_bytes: int
    """The most a capacity search at CAPACITY_MAX_STREAMS may add to the pool."""
    normal_duration_s: float
    crossfade_duration_s: float
    capacity_probe_s: float

    @classmethod
    def for_profile(cls, profile: ShowProfile, time_scale: float) -> SetupCheckPlan:
        read_file_bytes = scaled_bytes(SETUP_READ_FILE_BYTES, time_scale)
        needed = max(
            minimum_regions_bytes(profile.streams), minimum_regions_bytes(profile.crossfade_streams)
        )
        pool_extra = max(scaled_bytes(READ_POOL_EXTRA_BYTES, time_scale), needed - read_file_bytes)
        pool_extra = _whole_blocks(pool_extra)
        heaviest = max(profile.streams, key=lambda stream: stream.mb_s_each)
        widest = (heaviest.model_copy(update={"count": CAPACITY_MAX_STREAMS}),)
        return cls(
            time_scale=time_scale,
            read_file_bytes=read_file_bytes,
            write_file_bytes=scaled_bytes(SETUP_WRITE_FILE_BYTES, time_scale),
            read_duration_s=scaled_seconds(SETUP_READ_S, time_scale),
            write_duration_s=scaled_seconds(SETUP_WRITE_S, time_scale),
            pool_extra_bytes=pool_extra,
            capacity_extra_bytes=extension_bytes(widest, read_file_bytes + pool_extra),
            normal_duration_s=scaled_seconds(SETUP_REPLAY_S, time_scale),
            crossfade_duration_s=scaled_seconds(profile.crossfade.duration_s, time_scale),
            capacity_probe_s=scaled_seconds(CAPACITY_PROBE_S, time_scale),
        )

    @property
    def layout_files(self) -> tuple[tuple[str, int], ...]:
        """The read-test file and the rest of the read pool, laid out once per volume."""
        return ((READ_FILE, self.read_file_bytes), (pool_file_name(1), self.pool_extra_bytes))

    @property
    def pool_bytes(self) -> int:
        return self.read_file_bytes + self.pool_extra_bytes

    @property
    def scratch_bytes(self) -> int:
        """The most the run may write: every file, capacity probes at their largest included."""
        return self.pool_bytes + self.capacity_extra_bytes + self.write_file_bytes


class SetupCheck:
    """Measurements are cached, failures too, so several test items can share one measurement
    without repeating a slow or failing fio run.

    Every synthetic replay (normal, crossfade, capacity probes) takes its streams' regions from
    one read pool, the read test's file and the pool's own, with one cursor for the run: each
    replay reads on where the last one stopped."""

    def __init__(
        self,
        runner: FioRunner,
        scratch: ScratchSpace,
        plan: SetupCheckPlan,
        profile: ShowProfile,
        record: VolumeRecord,
        frame_times: FrameTimes | None = None,
    ) -> None:
        self.runner = runner
        self.scratch = scratch
        self.plan = plan
        self.profile = profile
        self.record = record
        self.frame_times = frame_times
        """Where every replay's per-frame timings go (--qlab-frametimes); None: nowhere."""
        self._once = Once()

    def layout(self) -> LayoutResult:
        def measure() -> LayoutResult:
            result = lay_out(self.runner, self.scratch.run_dir, self.plan.layout_files)
            self.record.add_layout(LayoutKind.SETUP_CHECK, result)
            return result

        return self._once("layout", measure)

    def pool(self) -> ReadPool:
        """The read pool, its cursor past what the sequential read read last when it ran first
        (what a cache would hold is what was read last)."""

        def make() -> ReadPool:
            self.layout()
            read = self.record.sequential_read
            start = 0 if read is None else read.io_bytes % self.plan.read_file_bytes
            pool = ReadPool(self.plan.layout_files, start_bytes=start)
            self.record.read_pool = ReadPoolUse(pool, (READ_FILE,))
            return pool

        return self._once("pool", make)

    def ensure_pool_room(self, specs: tuple[StreamSpec, ...]) -> None:
        """Capacity probes may need more room for their minimum regions than the profile's
        sets: another pool file, laid out once."""
        pool = self.pool()
        instances = [spec for spec in specs for _ in range(spec.count)]
        minimum = [spec.frame_bytes * MINIMUM_FRAMES_PER_REGION for spec in instances]
        if pool.fits(minimum):
            return
        name = pool_file_name(len(pool.files))
        extra = extension_bytes(specs, pool.size_bytes)
        if extra == 0:
            return  # room enough once the cursor comes round: share_frames places them
        result = lay_out(self.runner, self.scratch.run_dir, ((name, extra),))
        self.record.add_layout(LayoutKind.SETUP_CHECK, result)
        pool.extend(name, extra)

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

    def _streams(self, specs: tuple[StreamSpec, ...], duration_s: float) -> list[ReplayStream]:
        """One stream per playing instance, each on its own region of the pool: as much as it
        will read when the pool's unread part holds every stream's, else a share of the pool."""
        self.ensure_pool_room(specs)
        pool = self.pool()
        instances = [spec for spec in specs for _ in range(spec.count)]
        wanted = [math.ceil(duration_s * spec.fps) + REGION_MARGIN_FRAMES for spec in instances]
        frame_bytes = [spec.frame_bytes for spec in instances]
        frames = share_frames(pool, wanted, frame_bytes, MINIMUM_FRAMES_PER_REGION)
        streams = [
            ReplayStream.in_region(label, spec, pool.take(count * spec.frame_bytes))
            for label, spec, count in zip(
                instance_labels(instances), instances, frames, strict=True
            )
        ]
        # a frames_from stream replays its reference movie's frames in its region; one naming
        # a show file (media) plays at that file's peak rate here, a bound on its busiest
        # second, and the file itself plays in the media replay (MediaCheck)
        return with_movies(streams, self.record.frame_sources, kinds=("frames_from",))

    def _replay(
        self, key: RequirementKey, specs: tuple[StreamSpec, ...], duration_s: float
    ) -> ReplayResult:
        def measure() -> ReplayResult:
            result = replay(
                self.runner,
                self.scratch.run_dir,
                self._streams(specs, duration_s),
                duration_s=duration_s,
                buffer_frames=self.profile.player_buffer_frames,
                label=key.value,
                frame_times=self.frame_times,
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

        def probe(count: int) -> CapacityProbe:
            duration_s = self.plan.capacity_probe_s
            streams = self._streams((single.model_copy(update={"count": count}),), duration_s)
            result = replay(
                self.runner,
                self.scratch.run_dir,
                streams,
                duration_s=duration_s,
                buffer_frames=self.profile.player_buffer_frames,
                label=f"capacity-{count:02d}",
                frame_times=self.frame_times,
            )
            return CapacityProbe(count, result.dropped, result.bytes_read, result.reads)

        def measure() -> CapacityResult:
            limit = self.capacity_limit(spec)
            best, probes = search_max_streams(probe, limit)
            result = CapacityResult(single, best, limit, tuple(probes), needed_streams=spec.count)
            self.record.capacity = result
            self.record.verify_streams(spec.cell_key, best)
            return result

        return self._once("capacity", measure)
