"""Time and memory of a two-hour frame map, and the bytes its replay reads.

    python bench/media_map.py            # a 2-hour 29.97 movie, about 216,000 frames
    python bench/media_map.py --minutes 10

Makes the movie in a temp folder (a few small ProRes frames muxed again and again, with mono
PCM audio), maps it in a fresh process so the peak memory is the map's alone, and schedules its
replay: the bytes read must equal the map's bytes plus alignment. The movie is removed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAP_BUDGET_S = 2.0


def _map_in_child(path: Path) -> dict[str, float]:
    code = f"""
import json, resource, time
from pathlib import Path
start = time.perf_counter()
from pytest_qlab.media.framemap import read_frame_map
from pytest_qlab.media.rates import media_rates
from pytest_qlab.media.schedule import schedule_reads
imported = time.perf_counter()
frame_map = read_frame_map(Path({str(path)!r}))
mapped = time.perf_counter()
rates = media_rates(frame_map)
schedule = schedule_reads(frame_map, buffer_frames=3, alignment_bytes=4096)
done = time.perf_counter()
print(json.dumps({{
    "frames": frame_map.frames, "audio_chunks": len(frame_map.audio_sizes),
    "map_s": mapped - imported, "rates_s": done - mapped,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "map_bytes": schedule.map_bytes, "alignment_bytes": schedule.alignment_bytes,
    "read_bytes": schedule.read_bytes, "media_bytes": frame_map.media_bytes,
    "requested_bytes": schedule.requested_bytes,
    "probe_bytes_read": frame_map.probe_bytes_read, "file_bytes": frame_map.file_bytes,
    "mean_mb_s": rates.mean_mb_s, "peak_mb_s": rates.peak_mb_s,
}}))
"""
    baseline = subprocess.run(
        [
            sys.executable,
            "-c",
            "import resource, pytest_qlab.media.framemap;"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    figures: dict[str, float] = json.loads(completed.stdout)
    figures["import_rss_mb"] = float(baseline.stdout)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=120.0)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from tests.helpers.media import NTSC_FPS, make_movie

    frames = round(args.minutes * 60 * NTSC_FPS)
    with tempfile.TemporaryDirectory(prefix="qlab-media-bench-") as folder:
        path = Path(folder) / "two-hours.mov"
        started = time.perf_counter()
        make_movie(path, profile=0, width=64, height=36, frames=frames, audio_channels=1)
        made_s = time.perf_counter() - started
        figures = _map_in_child(path)
    figures["make_s"] = made_s
    print(json.dumps(figures, indent=2))
    ok = (
        figures["frames"] == frames
        and figures["read_bytes"] == figures["map_bytes"] + figures["alignment_bytes"]
        and figures["map_bytes"] == figures["media_bytes"]
    )
    print(
        f"{frames} frames, {figures['audio_chunks']:.0f} audio chunks: map built in "
        f"{figures['map_s']:.2f} s (budget {MAP_BUDGET_S:.0f} s), rates and schedule "
        f"{figures['rates_s']:.2f} s, peak memory {figures['peak_rss_mb']:.0f} MB "
        f"({figures['import_rss_mb']:.0f} MB after imports); bytes read = map "
        f"{figures['map_bytes']:.0f} + alignment {figures['alignment_bytes']:.0f}: "
        f"{'yes' if ok else 'NO'}; movie made in {made_s:.1f} s"
    )
    return 0 if ok and figures["map_s"] < MAP_BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
