"""Stream replay with real fio: a light show plays without a drop, and a drive slowed below a
stream's rate (cgroup v1 blkio throttling) drops frames and fails with the stream named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_qlab.core.profiles import StreamSpec
from pytest_qlab.fio import FioRunner, locate_fio
from pytest_qlab.measure.replay import expand, replay

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
TIME_SCALE = "0.02"
"""Every replay then lasts the one-second minimum, and the read test's file (laid out even though
the read is deselected) is the smallest."""
BLKIO = Path("/sys/fs/cgroup/blkio")
LIGHT_PROFILE = """
name = "light"
player_buffer_frames = 3

[[streams]]
name = "plate"
codec = "422"
raster = "1920x1080"
fps = 25

[[streams]]
name = "overlay"
mb_s = 8
fps = 29.97
count = 2

[crossfade]
duration_s = 2
"""
HEAVY_STREAM_PROFILE = """
name = "one heavy stream"
player_buffer_frames = 3

[[streams]]
name = "backdrop"
mb_s = 120
fps = 30

[crossfade]
duration_s = 2
"""


def _run_setup_check(tmp_path: Path, volume: Path, *args: str, **popen: Any) -> tuple[int, str]:
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(REPO / "suites"),
        "--volume",
        str(volume),
        "--qlab-time-scale",
        TIME_SCALE,
        "--qlab-report-dir",
        str(tmp_path / "reports"),
        "-p",
        "no:cacheprovider",
        "-m",
        "not capacity",
        *args,
    ]
    completed = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False, **popen
    )
    return completed.returncode, completed.stdout + completed.stderr


def _report(tmp_path: Path) -> dict[str, Any]:
    (path,) = (tmp_path / "reports").glob("*.json")
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _test_entry(document: dict[str, Any], name: str) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [
        test for test in document["tests"] if f"::{name}[" in test["nodeid"]
    ]
    assert len(entries) == 1, [test["nodeid"] for test in document["tests"]]
    return entries[0]


@pytest.mark.timing
def test_core_replay_of_light_streams_drops_nothing(tmp_path: Path) -> None:
    """The core without pytest: two streams on pre-written files, every frame on time."""
    spec = StreamSpec(codec="proxy", raster="1920x1080", fps=25, count=2)
    file_bytes = 16 * spec.frame_bytes
    for index in (1, 2):
        (tmp_path / f"s{index}.bin").write_bytes(os.urandom(file_bytes))
    runner = FioRunner(locate_fio(), tmp_path / "control")

    result = replay(
        runner,
        tmp_path,
        expand((spec,), ["s1.bin", "s2.bin"], file_bytes),
        duration_s=2.0,
        buffer_frames=3,
        label="light",
    )

    assert [stream.stream.label for stream in result.streams] == [
        "HD ProRes 422 Proxy 25 #1",
        "HD ProRes 422 Proxy 25 #2",
    ]
    for stream in result.streams:
        assert stream.dropped == 0, stream.summary()
        # 2 s at 25 fps: 50 frames, the last 3 covered by the player's buffer.
        assert stream.frames.due_frames >= 45
        assert stream.frames.frames_read >= stream.frames.due_frames
        assert stream.frames.achieved_mb_s() == pytest.approx(spec.mb_s_each, rel=0.15)
    assert not (tmp_path / "control" / "light-logs").exists(), "per-I/O logs must be removed"


@pytest.mark.timing
def test_light_profile_plays_without_a_dropped_frame(tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    profile = tmp_path / "light.toml"
    profile.write_text(LIGHT_PROFILE, encoding="utf-8")

    code, output = _run_setup_check(
        tmp_path, volume, "--qlab-profile", str(profile), "-k", "playback"
    )

    document = _report(tmp_path)
    for name in ("test_normal_playback", "test_crossfade_playback"):
        entry = _test_entry(document, name)
        assert entry["outcome"] == "passed", output
        metadata = entry["metadata"]
        assert metadata["dropped_frames"] == 0
        for stream in metadata["per_stream"]:
            assert stream["frames_read"] > 0
            assert stream["dropped_frames"] == 0
            assert stream["latency_max_ms"] < 3 * stream["frame_interval_ms"]
    normal = _test_entry(document, "test_normal_playback")["metadata"]
    assert [stream["stream"] for stream in normal["per_stream"]] == [
        "plate (HD ProRes 422 25)",
        "overlay (8 MB/s at 29.97 fps) #1",
        "overlay (8 MB/s at 29.97 fps) #2",
    ]
    volume_report = document["qlab"]["volumes"][0]
    assert volume_report["measurements"]["normal_playback_dropped_frames"] == 0
    verified = [cell for cell in volume_report["matrix"] if cell["verified_streams"]]
    assert verified == [] or all(cell["codec"] == "422" for cell in verified)
    assert code == 1, "the read test was deselected, so the volume cannot be rated ready"
    assert not (volume / ".pytest-qlab").exists()


@pytest.fixture
def throttled_cgroup(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A blkio cgroup reading at most 30 MB/s from the device holding tmp_path."""
    if os.geteuid() != 0:
        pytest.skip("cgroup blkio throttling needs root")
    if not (BLKIO / "blkio.throttle.read_bps_device").exists():
        pytest.skip("no cgroup v1 blkio controller at /sys/fs/cgroup/blkio")
    device = os.stat(tmp_path).st_dev
    if os.major(device) == 0:
        pytest.skip(f"{tmp_path} is on a virtual filesystem (major 0): nothing to throttle")
    cgroup = BLKIO / f"qlab-test-{uuid.uuid4().hex[:8]}"
    try:
        cgroup.mkdir()
    except OSError as exc:
        pytest.skip(f"cannot create a blkio cgroup: {exc}")
    rule = f"{os.major(device)}:{os.minor(device)} 30000000"
    try:
        (cgroup / "blkio.throttle.read_bps_device").write_text(rule, encoding="ascii")
        yield cgroup, rule
    finally:
        for pid in (cgroup / "cgroup.procs").read_text(encoding="ascii").split():
            (BLKIO / "cgroup.procs").write_text(pid, encoding="ascii")
        cgroup.rmdir()


@pytest.mark.needs_root
def test_a_drive_slower_than_a_stream_drops_frames_and_fails(
    tmp_path: Path, throttled_cgroup: tuple[Path, str]
) -> None:
    cgroup, _ = throttled_cgroup
    volume = tmp_path / "volume"
    volume.mkdir()
    profile = tmp_path / "heavy.toml"
    profile.write_text(HEAVY_STREAM_PROFILE, encoding="utf-8")

    def join_cgroup() -> None:
        (cgroup / "cgroup.procs").write_text(str(os.getpid()), encoding="ascii")

    code, output = _run_setup_check(
        tmp_path,
        volume,
        "--qlab-profile",
        str(profile),
        "-k",
        "normal_playback",
        preexec_fn=join_cgroup,
    )

    assert code == 1, output
    assert "FAILED" in output, output
    assert "test_normal_playback" in output, output
    entry = _test_entry(_report(tmp_path), "test_normal_playback")
    assert entry["outcome"] == "failed"
    message = entry["call"]["longrepr"]
    assert "normal playback replay:" in message
    assert "backdrop (120 MB/s at 30 fps)" in message
    assert "frames dropped" in message
    assert "ms late" in message
    (stream,) = entry["metadata"]["per_stream"]
    assert stream["dropped_frames"] > 0
    assert stream["achieved_mb_s"] < 60, "the throttle did not hold the stream below its rate"
    assert not (volume / ".pytest-qlab").exists()
