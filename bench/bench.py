"""Prove the numbers are the drive's, not the harness's: pytest-qlab against raw fio, in one run.

    python bench/bench.py --volume /Volumes/Show            # full run, about 20 minutes
    python bench/bench.py --volume /Volumes/Show --quick    # shorter, for a first look
    python bench/bench.py --volume /Volumes/Show --only fleet \
        --fleet-host ssh://localhost/Volumes/Show           # a one-host fleet against local
    python bench/bench.py --volume /mnt/x --only fleet --fleet-host self --limit-mb-s 800

Each comparison interleaves the two sides in ABBA order (A B, B A, B A, A B, ...) so drift of
the machine and any advantage of running second cancel, and is judged on the paired ratios,
next to an A/A control (raw fio against itself) that shows how finely this machine can resolve
a ratio at all. The media step plays two real movies through fio's iolog replay as
--qlab-media does, for the issue-time error and the bytes read. The fleet step, given a host
that is this machine over SSH (Remote Login on), compares a one-host fleet with a local run on
the same volume (bench/fleet_bench.py). Writes bench/results/<date>-<host>.json and .md (with
the steps' names added for --only). The bench opens a run on the
volume as the plugin does (one run per volume and per drive) and writes only in that run's
scratch folder, removed at the end, and in a temp folder for fio's control files.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import psutil  # type: ignore[import-untyped]
from abba import PairedRatio, abba_pairs, fidelity_verdict, paired_ratio
from fleet_bench import bench_fleet, fleet_rows
from product import run_suites, suites_command

from pytest_qlab.core.errors import QlabError
from pytest_qlab.core.options import QlabOptions
from pytest_qlab.core.profiles import DEFAULT_PROFILE, StreamSpec
from pytest_qlab.core.run import open_run
from pytest_qlab.core.session import QlabSession
from pytest_qlab.core.units import BYTES_PER_GIB, BYTES_PER_MB, BYTES_PER_MIB
from pytest_qlab.core.verdict import Rating
from pytest_qlab.fio import FioBinary, FioRunner
from pytest_qlab.fio.jobs import platform_engine
from pytest_qlab.measure.bandwidth import (
    SEQUENTIAL_BLOCK_BYTES,
    SEQUENTIAL_IODEPTH,
    lay_out,
    measure_sequential,
)
from pytest_qlab.measure.frames import Completion, analyse, read_completions
from pytest_qlab.measure.probe import ReadConfig, probe_read_config
from pytest_qlab.measure.replay import expand, replay
from pytest_qlab.measure.sustained import measure_sustained
from pytest_qlab.media.framemap import read_frame_map
from pytest_qlab.media.iolog import iolog_ticks_per_s
from pytest_qlab.media.playback import (
    PlannedFile,
    file_bytes_read,
    judge_trace,
    media_job_file,
    plan_files,
    trace_video_jobs,
)
from pytest_qlab.media.rates import media_rates
from pytest_qlab.media.schedule import ReadSchedule
from pytest_qlab.modes.sustained import SustainedPlan
from pytest_qlab.safety.volume import ScratchSpace, new_run_id

REPO = Path(__file__).resolve().parents[1]
TARGETS = {
    "fidelity": 0.02,
    "ceiling": 0.95,
    "analysis_s": 5.0,
    "analysis_mb": 200.0,
}
SWEEP_BLOCKS = (256 * 1024, BYTES_PER_MIB, 4 * BYTES_PER_MIB)
SWEEP_DEPTHS = (1, 8, 32)
SHOW_S = 2.5 * 3600
ANALYSIS_STREAMS = 5
ANALYSIS_FPS = 29.97


@dataclass
class Bench:
    """The bench's own qualification run, opened as the plugin opens one (the volume and its
    drive locked, leftovers cleaned, fio located), with a scratch folder inside the run's."""

    run: QlabSession
    quick: bool
    volume: Path = field(init=False)
    fio: FioBinary = field(init=False)
    scratch: Path = field(init=False)
    runner: FioRunner = field(init=False)
    results: dict[str, Any] = field(default_factory=dict)
    read_mb_s: float | None = None
    """The drive's sequential read by raw fio, once measured: what the replays are sized to."""

    def __post_init__(self) -> None:
        target = self.run.targets[0]
        self.volume = target.path
        self.fio = self.run.fio
        space = ScratchSpace(target, new_run_id())
        self.run.add_scratch(space)
        space.create()
        self.scratch = space.run_dir
        self.runner = FioRunner(self.fio, Path(tempfile.mkdtemp(prefix="pytest-qlab-bench-")))

    def hand_over(self) -> None:
        """Close the bench's run before starting pytest-qlab itself on the volume: the product
        opens its own run there, and would be refused while the bench holds the drive."""
        self.run.close()

    def close(self) -> None:
        self.run.close()
        shutil.rmtree(self.runner.work_dir, ignore_errors=True)

    @property
    def measure_s(self) -> float:
        return 3.0 if self.quick else 6.0

    @property
    def rounds(self) -> int:
        return 2 if self.quick else 3


def raw_fio_mb_s(
    fio: FioBinary, directory: Path, file_name: str, rw: str, *, bs: int, depth: int, seconds: float
) -> float:
    """The same job, given on fio's command line as a user would type it, over the whole of a
    file already laid out (for a write too, so both sides overwrite allocated blocks)."""
    size = (directory / file_name).stat().st_size
    command = [
        str(fio.path),
        "--name=raw",
        f"--filename={file_name}",
        f"--rw={rw}",
        f"--bs={bs}",
        f"--iodepth={depth}",
        "--direct=1",
        f"--ioengine={platform_engine()}",
        f"--size={size}",
        "--time_based=1",
        # In ms as in pytest-qlab's job files: fio reads "2.5s" as 2 s.
        f"--runtime={round(seconds * 1000)}ms",
        "--output-format=json",
    ] + (["--end_fsync=1"] if rw == "write" else [])
    completed = subprocess.run(
        command, cwd=directory, capture_output=True, text=True, check=True, timeout=seconds + 120
    )
    document = json.loads(completed.stdout[completed.stdout.index("{") :])
    return float(document["jobs"][0][rw]["bw_bytes"]) / BYTES_PER_MB


FIDELITY_PAIRS = 8
FIDELITY_S = 4.0
FIDELITY_QUICK_PAIRS = 6
FIDELITY_QUICK_S = 3.0


def bench_fidelity(bench: Bench) -> dict[str, Any]:
    """Sequential read and write as the setup check reports them vs the same fio job by hand,
    next to an A/A control (raw fio against itself) that shows what this machine can resolve."""
    size = (256 if bench.quick else 1024) * BYTES_PER_MIB
    pairs = FIDELITY_QUICK_PAIRS if bench.quick else FIDELITY_PAIRS
    seconds = FIDELITY_QUICK_S if bench.quick else FIDELITY_S
    # Both files laid out first: a write to a new file would measure allocation, not the drive.
    lay_out(bench.runner, bench.scratch, [("read.bin", size), ("write.bin", size)])
    found: dict[str, Any] = {"pairs": pairs, "seconds_per_run": seconds, "order": "ABBA"}
    for rw in ("read", "write"):
        found[f"sequential_{rw}"] = sequential_fidelity(bench, rw, size, pairs, seconds)
    bench.read_mb_s = statistics.median(found["sequential_read"]["raw_fio_mb_s"])
    found["replay"] = bench_replay(bench)
    return found


def sequential_fidelity(
    bench: Bench, rw: Literal["read", "write"], size: int, pairs: int, seconds: float
) -> dict[str, Any]:
    file_name = f"{rw}.bin"

    def ours() -> float:
        return measure_sequential(bench.runner, bench.scratch, file_name, rw, size, seconds).mb_s

    def raw() -> float:
        return raw_fio_mb_s(
            bench.fio,
            bench.scratch,
            file_name,
            rw,
            bs=SEQUENTIAL_BLOCK_BYTES,
            depth=SEQUENTIAL_IODEPTH,
            seconds=seconds,
        )

    raw()  # settles the drive and its caches after the layout; not counted
    measured = abba_pairs({"ours": (ours, raw), "control": (raw, raw)}, pairs)
    fidelity = paired_ratio(*measured["ours"])
    control = paired_ratio(*measured["control"])
    return {
        **fidelity.summary("pytest_qlab", "raw_fio"),
        "control": control.summary("raw_fio_a", "raw_fio_b"),
        "verdict": fidelity_verdict(fidelity, control, TARGETS["fidelity"]),
    }


REPLAY_LOAD = 0.5
"""The replay asks for this share of the drive's measured sequential read: a demand the
drive can carry, so achieved / requested measures the replay, not the drive."""


def device_read_mb_s(bench: Bench) -> float:
    """The sequential read by raw fio, as the fidelity step measured it (or measured here, for
    a run of steps without it)."""
    if bench.read_mb_s is None:
        size = 256 * BYTES_PER_MIB
        lay_out(bench.runner, bench.scratch, [("read.bin", size)])
        bench.read_mb_s = raw_fio_mb_s(
            bench.fio,
            bench.scratch,
            "read.bin",
            "read",
            bs=SEQUENTIAL_BLOCK_BYTES,
            depth=SEQUENTIAL_IODEPTH,
            seconds=bench.measure_s,
        )
    return bench.read_mb_s


def sized_streams(read_mb_s: float, load: float) -> list[StreamSpec]:
    """The default show's streams, in their proportions and frame rates, scaled to ask for
    `load` of the drive's read in all."""
    specs = DEFAULT_PROFILE.streams
    total_mb_s = sum(spec.rate_bytes_s * spec.count for spec in specs) / BYTES_PER_MB
    scale = load * read_mb_s / total_mb_s
    return [
        StreamSpec(
            name=spec.name,
            mb_s=spec.rate_bytes_s / BYTES_PER_MB * scale,
            fps=spec.fps,
            count=spec.count,
        )
        for spec in specs
    ]


def bench_replay(bench: Bench) -> dict[str, Any]:
    """Each stream of the default show, scaled to half the drive's read: achieved MB/s against
    the rate it asked fio for. Each file holds more than its stream reads, so no frame is read
    twice."""
    read_mb_s = device_read_mb_s(bench)
    specs = sized_streams(read_mb_s, REPLAY_LOAD)
    duration_s = 2 * bench.measure_s
    names = [f"stream-{index}.bin" for index in range(1, 5)]
    largest_rate = max(spec.rate_bytes_s for spec in specs)
    stream_bytes = max(64, math.ceil(1.25 * largest_rate * duration_s / BYTES_PER_MIB))
    stream_bytes *= BYTES_PER_MIB
    lay_out(bench.runner, bench.scratch, [(name, stream_bytes) for name in names])
    result = replay(
        bench.runner,
        bench.scratch,
        expand(specs, names, stream_bytes),
        duration_s=duration_s,
        buffer_frames=DEFAULT_PROFILE.player_buffer_frames,
        label="bench-replay",
    )
    return {
        "device_read_mb_s": round(read_mb_s, 1),
        "load": REPLAY_LOAD,
        "requested_mb_s": round(sum(s.rate_bytes_s * s.count for s in specs) / BYTES_PER_MB, 1),
        "stream_file_bytes": stream_bytes,
        "streams": [
            {
                "stream": item.stream.label,
                "requested_mb_s": round(item.stream.spec.rate_bytes_s / BYTES_PER_MB, 3),
                "achieved_mb_s": round(item.frames.achieved_mb_s(), 3),
                "ratio": round(
                    item.frames.achieved_mb_s() * BYTES_PER_MB / item.stream.spec.rate_bytes_s, 4
                ),
                "dropped_frames": item.dropped,
            }
            for item in result.streams
        ],
    }


# --- the show's own media, replayed through fio's iolog ---------------------------------------

MEDIA_FILES = (("backdrop.mov", 3, 640, 360), ("logo.mov", 0, 320, 180))
"""(name, ProRes profile, width, height). A light show of two files (ProRes 422 HQ and Proxy,
with PCM audio): an idle drive, so the
issue times measure fio's replay, not a queue."""
ISSUE_TARGET_P99_MS = 1.0
LOG_TIME_RESOLUTION_MS = 1.0
"""fio before 3.38 (no log_issue_time) logs each I/O's time in whole ms, rounded down when it
logs the completion (stat.c, add_log_sample: mtime_since_now), with the latency in ns since
the read was ready to issue (io_u.c: start_time, set after the iolog delay): an issue time is
the log time minus the latency, known to within 1 ms below it."""


def issue_errors_ms(schedule: ReadSchedule, completions: Sequence[Completion]) -> list[float]:
    """Actual minus scheduled issue time of every read, the schedule anchored at the first
    read's issue (fio issues it at once). At iodepth 1 fio completes the reads in the order of
    the trace; a completion at another offset (none, unless fio misbehaves) is left out."""
    errors: list[float] = []
    first: tuple[float, int] | None = None
    for read, completion in enumerate(completions[: schedule.reads]):
        wanted = schedule.offset_bytes[read]
        if completion.offset_bytes not in (wanted, wanted + completion.block_bytes):
            continue
        issued_ms = completion.time_ms - completion.latency_ns / 1e6
        scheduled_us = schedule.issue_us[read]
        if first is None:
            first = (issued_ms, scheduled_us)
        errors.append(issued_ms - first[0] - (scheduled_us - first[1]) / 1000)
    return errors


def percentile(values: Sequence[float], percent: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def issue_verdict(p99_ms: float) -> str:
    """Met when even the top of the resolution band is under the target; missed when even its
    bottom is over it; otherwise the log's whole-ms times cannot tell."""
    if p99_ms + LOG_TIME_RESOLUTION_MS < ISSUE_TARGET_P99_MS:
        return "met"
    if p99_ms - LOG_TIME_RESOLUTION_MS >= ISSUE_TARGET_P99_MS:
        return "MISSED"
    return "not resolvable with fio's whole-ms log times"


def bench_media(bench: Bench) -> dict[str, Any]:
    """Two real movies on the volume played together as --qlab-media plays them (the same plan,
    traces and job file), in one fio run: the issue-time error of the replay, and fio's bytes
    read against each map's bytes plus alignment."""
    sys.path.insert(0, str(REPO))
    from tests.helpers.media import make_movie

    seconds = 10.0 if bench.quick else 30.0
    folder = bench.scratch / "media"
    folder.mkdir()
    for name, profile, width, height in MEDIA_FILES:
        make_movie(folder / name, profile=profile, width=width, height=height, seconds=seconds)
    maps = [read_frame_map(folder / name) for name, *_ in MEDIA_FILES]
    planned = plan_files(maps, buffer_frames=DEFAULT_PROFILE.player_buffer_frames)
    work = bench.runner.work_dir / "bench-media"
    log_dir = work / "logs"
    log_dir.mkdir(parents=True)
    ticks_per_s = iolog_ticks_per_s(bench.fio.version, maps[0].path)
    video_jobs = trace_video_jobs(DEFAULT_PROFILE.player_buffer_frames, len(planned))
    job_file = media_job_file(
        work, planned, log_dir, ticks_per_s=ticks_per_s, video_jobs=video_jobs
    )
    run = bench.runner.run(job_file, label="bench-media")
    files = [
        media_file(
            plan,
            log_dir,
            file_bytes_read(run.result, job_file, plan),
            [job.name for job in job_file.jobs if job.filename == plan.link_name],
            video_jobs,
        )
        for plan in planned
    ]
    errors = [error for found in files for error in found.pop("issue_errors_ms")]
    peak_mb_s = sum(found["peak_mb_s"] for found in files)
    return {
        "seconds": seconds,
        "device_read_mb_s": round(device_read_mb_s(bench), 1),
        "peak_mb_s": round(peak_mb_s, 3),
        "reads": len(errors),
        "issue_error_p50_ms": round(percentile(errors, 50), 3),
        "issue_error_p99_ms": round(percentile(errors, 99), 3),
        "issue_error_max_ms": round(max(errors), 3),
        "resolution_ms": LOG_TIME_RESOLUTION_MS,
        "issue_verdict": issue_verdict(percentile(errors, 99)),
        "bytes_equal": all(found["bytes_equal"] for found in files),
        "dropped_frames": sum(found["dropped_frames"] for found in files),
        "frames": sum(frame_map.frames for frame_map in maps),
        "files": files,
    }


def media_file(
    plan: PlannedFile, log_dir: Path, io_bytes: int, job_names: Sequence[str], video_jobs: int
) -> dict[str, Any]:
    """One file's figures: its frames judged as the product judges them, and every read's
    issue-time error within its own job (video parts and audio, as `trace_jobs` deals them)."""
    frame_map, schedule = plan.frame_map, plan.schedule
    judged = judge_trace(
        schedule,
        log_dir,
        plan.job_name,
        fps=float(frame_map.fps),
        frames=frame_map.frames,
        video_jobs=video_jobs,
    )
    video, audio = schedule.split(video_jobs)
    errors: list[float] = []
    completions = 0
    for job_name, part in zip(
        job_names, [part for part in (*video, audio) if part.reads], strict=True
    ):
        (log,) = log_dir.glob(f"{job_name}_lat.*.log")
        logged = list(read_completions(log))
        completions += len(logged)
        errors += issue_errors_ms(part, logged)
    return {
        "file": f"{frame_map.path.name} ({frame_map.describe()})",
        "peak_mb_s": round(media_rates(frame_map).peak_mb_s, 3),
        "reads": schedule.reads,
        "completions": completions,
        "unmatched_completions": judged.unmatched_completions,
        "dropped_frames": judged.frames.dropped_frames,
        "issue_error_p99_ms": round(percentile(errors, 99), 3),
        "io_bytes": io_bytes,
        "map_bytes": schedule.map_bytes,
        "alignment_bytes": schedule.alignment_bytes,
        "bytes_equal": io_bytes == schedule.map_bytes + schedule.alignment_bytes,
        "issue_errors_ms": errors,
    }


CEILING_FILE = "ceiling.bin"
CEILING_PAIRS = 6
CEILING_QUICK_PAIRS = 4


def bench_ceiling(bench: Bench) -> dict[str, Any]:
    """The sustained suite's read, as the suite runs it (the probe, then the probe's choice),
    against the best raw configuration of a sweep, with an A/A control of that raw run."""
    seconds = bench.measure_s
    # Its own file, larger than the fidelity one: the suite reads 16 GiB, past any cache.
    file_bytes = (1 if bench.quick else 4) * BYTES_PER_GIB
    lay_out(bench.runner, bench.scratch, [(CEILING_FILE, file_bytes)])
    sweep = {
        ReadConfig(bs, depth): raw_fio_mb_s(
            bench.fio, bench.scratch, CEILING_FILE, "read", bs=bs, depth=depth, seconds=seconds
        )
        for bs in SWEEP_BLOCKS
        for depth in SWEEP_DEPTHS
    }
    best = max(sweep, key=lambda config: sweep[config])
    # The suite's plan at full scale, with the measured time shortened.
    plan = replace(SustainedPlan.for_scale(1.0, duration_s=2 * seconds), read_file_bytes=file_bytes)
    probe = probe_read_config(bench.runner, bench.scratch, CEILING_FILE, file_bytes, plan.probe_s)

    def sustained() -> float:
        return measure_sustained(
            bench.runner, bench.scratch, CEILING_FILE, "read", plan, config=probe.best
        ).mb_s

    def best_raw() -> float:
        return raw_fio_mb_s(
            bench.fio,
            bench.scratch,
            CEILING_FILE,
            "read",
            bs=best.block_size_bytes,
            depth=best.iodepth,
            seconds=plan.duration_s,
        )

    pairs = CEILING_QUICK_PAIRS if bench.quick else CEILING_PAIRS
    measured = abba_pairs({"ours": (sustained, best_raw), "control": (best_raw, best_raw)}, pairs)
    ceiling = paired_ratio(*measured["ours"])
    control = paired_ratio(*measured["control"])
    return {
        "sweep_mb_s": {config.label(): round(mb_s, 1) for config, mb_s in sweep.items()},
        "best": best.label(),
        "probe": probe.metadata(),
        "probe_choice": probe.best.label(),
        "sustained_vs_best": {
            **ceiling.summary("pytest_qlab", "raw_fio"),
            "control": control.summary("raw_fio_a", "raw_fio_b"),
            "verdict": ceiling_verdict(ceiling, control, TARGETS["ceiling"]),
        },
    }


def ceiling_verdict(ours: PairedRatio, control: PairedRatio, target: float) -> str:
    """Met when the median ratio reaches the target; not resolvable when raw fio against
    itself varies by more than the margin the target leaves."""
    if control.reach() > 1.0 - target:
        return "not resolvable here"
    if ours.median >= target:
        return f"met (>= {target:g})"
    return "MISSED"


def bench_overhead(bench: Bench) -> dict[str, Any]:
    """CPU seconds and peak RSS of the pytest process itself (fio excluded), per minute of test,
    for a short and a ten times longer scaled show pattern: memory must not grow with length."""
    minutes = (0.5, 2.0) if bench.quick else (1.0, 10.0)
    found = {}
    for run_minutes in minutes:
        scale = run_minutes * 60 / SHOW_S
        command = suites_command(
            bench.runner.work_dir / "reports",
            "-m",
            "show_pattern",
            "--volume",
            str(bench.volume),
            "--qlab-time-scale",
            f"{scale:.6f}",
            "--qlab-profile",
            str(light_profile(bench)),
        )
        found[f"{run_minutes:g}_min"] = sample_process(command)
    return found


def light_profile(bench: Bench) -> Path:
    """Two HD ProRes 422 streams: light enough for any drive, so the harness is measured."""
    path = bench.runner.work_dir / "light.toml"
    path.write_text(
        'name = "bench"\n[[streams]]\ncodec = "422"\nraster = "1920x1080"\nfps = 25\ncount = 2\n',
        encoding="utf-8",
    )
    return path


def sample_process(command: list[str]) -> dict[str, Any]:
    started = time.monotonic()
    process = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_rss = 0
    cpu_s = 0.0
    while process.poll() is None:
        try:
            peak_rss = max(peak_rss, process.memory_info().rss)
            times = process.cpu_times()
            cpu_s = times.user + times.system
        except psutil.NoSuchProcess:
            break
        time.sleep(0.5)
    wall_s = time.monotonic() - started
    return {
        "exit_code": process.returncode,
        "wall_s": round(wall_s, 1),
        "cpu_s": round(cpu_s, 2),
        "cpu_s_per_min": round(cpu_s / (wall_s / 60), 2),
        "peak_rss_mb": round(peak_rss / BYTES_PER_MB, 1),
    }


def synthetic_log(path: Path, frames: int, frame_bytes: int, fps: float) -> None:
    """A per-I/O log of one stream playing cleanly for `frames` frames, in fio's format."""
    rng = random.Random(1)
    file_frames = 4096
    with path.open("w", encoding="utf-8") as log:
        for frame in range(frames):
            time_ms = int(frame * 1000 / fps) + rng.randint(0, 5)
            latency_ns = rng.randint(1_000_000, 9_000_000)
            offset = (frame % file_frames) * frame_bytes
            log.write(f"{time_ms}, {latency_ns}, 0, {frame_bytes}, {offset}, 0\n")


def bench_analysis(directory: Path) -> dict[str, Any]:
    """Analyse the logs of a 2.5 h show at 5 streams x 29.97 fps, in a fresh process so its
    peak memory is its own."""
    frames = math.ceil(SHOW_S * ANALYSIS_FPS)
    frame_bytes = 2_404_352
    logs = [directory / f"stream-{index}_lat.1.log" for index in range(ANALYSIS_STREAMS)]
    for log in logs:
        synthetic_log(log, frames, frame_bytes, ANALYSIS_FPS)
    completed = subprocess.run(
        [sys.executable, __file__, "--analyse", *map(str, logs)],
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, Any] = json.loads(completed.stdout)
    found["log_bytes"] = sum(log.stat().st_size for log in logs)
    found["lines"] = frames * ANALYSIS_STREAMS
    return found


def analyse_logs(logs: list[str]) -> None:
    started = time.perf_counter()
    dropped = 0
    for log in logs:
        stats = analyse(
            read_completions(Path(log)),
            fps=ANALYSIS_FPS,
            buffer_frames=3,
            frame_bytes=2_404_352,
            file_bytes=4096 * 2_404_352,
            run_ms=SHOW_S * 1000,
        )
        dropped += stats.dropped_frames
    elapsed_s = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_bytes = peak_kib if sys.platform == "darwin" else peak_kib * 1024
    print(
        json.dumps(
            {
                "seconds": round(elapsed_s, 2),
                "peak_rss_mb": round(peak_bytes / BYTES_PER_MB, 1),
                "dropped_frames": dropped,
            }
        )
    )


def bench_time_to_verdict(bench: Bench) -> dict[str, Any]:
    """The setup check from command start to report written, and where the time goes."""
    scale = 0.25 if bench.quick else 1.0
    run = run_suites(
        bench.runner.work_dir / "verdict-reports",
        "--volume",
        str(bench.volume),
        "--qlab-time-scale",
        f"{scale:g}",
    )
    report = run.report
    tests_s = sum(
        test.get(stage, {}).get("duration", 0.0)
        for test in report["tests"]
        for stage in ("setup", "call", "teardown")
    )
    (volume,) = report["qlab"]["volumes"]
    layout_s = float(volume["measurements"].get("layout_duration_s", 0.0))
    return {
        "time_scale": scale,
        "exit_code": run.exit_code,
        "wall_s": round(run.wall_s, 1),
        "startup_and_reporting_s": round(run.wall_s - tests_s, 1),
        "layout_s": round(layout_s, 1),
        "measurement_s": round(tests_s - layout_s, 1),
        "rating": volume["rating"],
    }


def fidelity_rows(fidelity: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Per direction: ours/raw with its verdict, then the A/A control that bounds it."""
    target = f"within {TARGETS['fidelity'] * 100:g} %"
    rows = []
    for rw in ("read", "write"):
        found = fidelity[f"sequential_{rw}"]
        control = found["control"]
        rows += [
            (
                f"sequential {rw}, pytest-qlab / raw fio",
                f"{found['ratio']:.3f} ({interval_text(found)}): {found['verdict']}",
                target,
            ),
            (
                f"sequential {rw}, raw fio / raw fio (A/A control)",
                f"{control['ratio']:.3f} ({interval_text(control)})",
                f"95 % interval {target} of 1 to resolve the target",
            ),
        ]
    return rows


def interval_text(found: dict[str, Any]) -> str:
    low, high = found["interval_95"]
    return f"95 % {low:.3f}-{high:.3f}, {len(found['ratios'])} ABBA pairs"


Row = tuple[str, str, str]


def fidelity_and_replay_rows(fidelity: dict[str, Any]) -> list[Row]:
    found = fidelity["replay"]
    replay_ratios = [stream["ratio"] for stream in found["streams"]]
    return [
        *fidelity_rows(fidelity),
        (
            f"stream replay at {found['load'] * 100:g} % of the measured read "
            f"({found['requested_mb_s']} of {found['device_read_mb_s']} MB/s), "
            "achieved / requested",
            f"{min(replay_ratios):.3f} - {max(replay_ratios):.3f}",
            "within 2 %",
        ),
    ]


def media_rows(media: dict[str, Any]) -> list[Row]:
    io_bytes = sum(found["io_bytes"] for found in media["files"])
    map_bytes = sum(found["map_bytes"] for found in media["files"])
    alignment = sum(found["alignment_bytes"] for found in media["files"])
    return [
        (
            f"media replay ({len(media['files'])} files, {media['peak_mb_s']:.1f} MB/s of "
            f"{media['device_read_mb_s']}), issue time - scheduled, p50 / p99",
            f"{media['issue_error_p50_ms']:.2f} / {media['issue_error_p99_ms']:.2f} ms "
            f"(each +/- {media['resolution_ms']:g} ms: fio logs whole ms; {media['reads']} "
            f"reads): {media['issue_verdict']}",
            f"< {ISSUE_TARGET_P99_MS:g} ms at p99",
        ),
        (
            "media replay on that idle drive, frames dropped",
            f"{media['dropped_frames']} of {media['frames']}",
            "0",
        ),
        (
            "media replay, bytes read by fio = map + alignment",
            f"{io_bytes} = {map_bytes} + {alignment}: {'yes' if media['bytes_equal'] else 'NO'}",
            "equal",
        ),
    ]


def ceiling_rows(found: dict[str, Any]) -> list[Row]:
    ceiling = found["sustained_vs_best"]
    return [
        (
            f"sustained read ({found['probe_choice']}, the probe's choice) / "
            f"best raw of the sweep ({found['best']})",
            f"{ceiling['ratio']:.3f} ({interval_text(ceiling)}): {ceiling['verdict']}",
            f">= {TARGETS['ceiling']:g}",
        ),
        (
            "best raw / best raw (A/A control)",
            f"{ceiling['control']['ratio']:.3f} ({interval_text(ceiling['control'])})",
            "bounds the ratio above",
        ),
    ]


def analysis_rows(analysis: dict[str, Any]) -> list[Row]:
    return [
        (
            "analysis of a 2.5 h, 5-stream show",
            f"{analysis['seconds']} s, {analysis['peak_rss_mb']} MB",
            "< 5 s, < 200 MB",
        )
    ]


def overhead_rows(overhead: dict[str, Any]) -> list[Row]:
    return [
        (
            f"pytest process, {name.replace('_', ' ')} show pattern",
            f"{run['cpu_s_per_min']} CPU s/min, {run['peak_rss_mb']} MB peak",
            "flat with length",
        )
        for name, run in overhead.items()
    ]


def verdict_rows(verdict: dict[str, Any]) -> list[Row]:
    return [
        (
            f"setup check to report (scale {verdict['time_scale']:g})",
            f"{verdict['wall_s']} s: start+report {verdict['startup_and_reporting_s']}, layout "
            f"{verdict['layout_s']}, measuring {verdict['measurement_s']}",
            "about 30 s + layout",
        )
    ]


ROWS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "fidelity": fidelity_and_replay_rows,
    "media": media_rows,
    "ceiling": ceiling_rows,
    "analysis": analysis_rows,
    "overhead": overhead_rows,
    "time_to_verdict": verdict_rows,
    "fleet": fleet_rows,
}


def markdown(results: dict[str, Any]) -> str:
    """The table of whichever steps ran (all of them, or those given with --only)."""
    rows = [row for step, make in ROWS.items() if step in results for row in make(results[step])]
    lines = [
        f"Machine: {results['machine']}; volume {results['volume']}; {results['fio']}"
        + (
            f"; disk capped at {results['device_limits']} (a steady device, see --limit-mb-s)"
            if "device_limits" in results
            else ""
        ),
        "",
        "| measure | result | target |",
        "| --- | --- | --- |",
        *(f"| {name} | {value} | {target} |" for name, value, target in rows),
    ]
    return "\n".join(lines) + "\n"


@dataclass
class Step:
    name: str
    run: Callable[[], dict[str, Any]]
    starts_the_product: bool = False
    """Runs pytest-qlab itself on the volume, which opens a run of its own."""


def steps(bench: Bench, work: Path, args: argparse.Namespace) -> Iterator[Step]:
    yield Step("fidelity", lambda: bench_fidelity(bench))
    yield Step("media", lambda: bench_media(bench))
    yield Step("ceiling", lambda: bench_ceiling(bench))
    yield Step("analysis", lambda: bench_analysis(work))
    yield Step("overhead", lambda: bench_overhead(bench), starts_the_product=True)
    yield Step("time_to_verdict", lambda: bench_time_to_verdict(bench), starts_the_product=True)
    if args.fleet_host:
        yield Step(
            "fleet",
            lambda: bench_fleet(bench.volume, args.fleet_host, args.ssh_config, bench.quick),
            starts_the_product=True,
        )


# --- a steady device on a noisy disk (Linux, root, cgroup v1 blkio) ---------------------------
# A shared or virtual disk can vary by tens of per cent from one run to the next, far more than
# the 2 % the bench must resolve. Capping the disk's bytes and requests per second below its
# worst moments gives a device whose speed is known and steady; comparing pytest-qlab with raw
# fio on it proves the harness reports what fio measures. It says nothing about the disk.

BLKIO = Path("/sys/fs/cgroup/blkio")


@dataclass(frozen=True)
class DeviceLimits:
    mb_s: int | None
    iops: int | None

    def describe(self) -> str:
        parts = [f"{self.mb_s} MB/s" if self.mb_s else "", f"{self.iops} IOPS" if self.iops else ""]
        return ", ".join(part for part in parts if part)


def whole_disk_of(path: Path) -> tuple[int, int]:
    """major:minor of the disk holding `path`; a partition's parent disk, which blkio needs."""
    device = os.stat(path).st_dev
    block = Path(f"/sys/dev/block/{os.major(device)}:{os.minor(device)}")
    if not block.exists():
        raise SystemExit(f"bench: {path} is not on a block device; --limit needs one")
    if (block / "partition").exists():
        block = block.resolve().parent
    major, minor = (block / "dev").read_text(encoding="ascii").strip().split(":")
    return int(major), int(minor)


@contextlib.contextmanager
def limited(volume: Path, limits: DeviceLimits) -> Iterator[None]:
    """This process and every fio it starts in a blkio group capped at `limits` on the disk of
    `volume`, reads and writes alike; the process is moved back and the group removed after."""
    if not (BLKIO / "blkio.throttle.read_bps_device").exists():
        raise SystemExit(f"bench: --limit needs root and a cgroup v1 blkio controller at {BLKIO}")
    major, minor = whole_disk_of(volume)
    group = BLKIO / f"pytest-qlab-bench-{os.getpid()}"
    group.mkdir()
    try:
        for direction in ("read", "write"):
            if limits.mb_s:
                _rule(group, f"{direction}_bps_device", f"{major}:{minor} {limits.mb_s * 10**6}")
            if limits.iops:
                _rule(group, f"{direction}_iops_device", f"{major}:{minor} {limits.iops}")
        (group / "cgroup.procs").write_text(str(os.getpid()), encoding="ascii")
        yield
    finally:
        with contextlib.suppress(OSError):
            (BLKIO / "cgroup.procs").write_text(str(os.getpid()), encoding="ascii")
        with contextlib.suppress(OSError):
            group.rmdir()


def _rule(group: Path, name: str, rule: str) -> None:
    (group / f"blkio.throttle.{name}").write_text(rule, encoding="ascii")


def bench_options(volume: Path) -> QlabOptions:
    """A full-scale run on the one volume, as `pytest suites/ --volume VOLUME` would open it."""
    return QlabOptions(
        volumes=(str(volume),),
        profile="default",
        fio=None,
        time_scale=1.0,
        require=Rating.ACCEPTABLE,
        report_dir=REPO / "reports",
        keep_files=False,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volume", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--quick", action="store_true", help="shorter runs, fewer rounds")
    parser.add_argument("--analyse", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--only", action="append", help="run only these steps (repeatable)")
    parser.add_argument(
        "--limit-mb-s",
        type=int,
        help="cap the disk at this many MB/s (Linux, root): a steady device on a noisy disk",
    )
    parser.add_argument("--limit-iops", type=int, help="cap the disk's requests a second too")
    parser.add_argument(
        "--fleet-host",
        help="ssh://host/path naming --volume on this machine over SSH, or 'self' for an sshd "
        "the bench starts (root; inside --limit-mb-s): adds the fleet step",
    )
    parser.add_argument("--ssh-config", type=Path, help="the ssh_config file for --fleet-host")
    args = parser.parse_args()
    if args.analyse:
        analyse_logs(args.analyse)
        return 0
    try:
        run = open_run(bench_options(args.volume))
    except QlabError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    bench = Bench(run, args.quick)
    results: dict[str, Any] = {
        "machine": f"{platform.node()} {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} cores, {round(psutil.virtual_memory().total / 2**30)} GiB",
        "volume": str(args.volume),
        "fio": bench.fio.version_text,
        "quick": args.quick,
        "taken_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    limits = DeviceLimits(args.limit_mb_s, args.limit_iops)
    if limits.describe():
        results["device_limits"] = limits.describe()
    device = limited(bench.volume, limits) if limits.describe() else contextlib.nullcontext()
    try:
        with device, tempfile.TemporaryDirectory(prefix="pytest-qlab-bench-logs-") as work:
            for step in steps(bench, Path(work), args):
                if args.only and step.name not in args.only:
                    continue
                print(f"bench: {step.name} ...", flush=True)
                if step.starts_the_product:
                    bench.hand_over()
                results[step.name] = step.run()
    finally:
        bench.close()
    args.out.mkdir(parents=True, exist_ok=True)
    stem = (
        f"{time.strftime('%Y%m%d')}-{platform.node()}"
        + ("-limited" if limits.describe() else "")
        + "".join(f"-{name}" for name in args.only or ())
    )
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    table = markdown(results)
    (args.out / f"{stem}.md").write_text(table, encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
