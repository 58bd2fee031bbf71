"""Two of the show's files on a drive too slow for both, with real fio: the files play together
from a disk held (cgroup v1 blkio) between what the light file needs and what both need, so
the file that needs more drops frames, the light one does not, and the failure names the heavy
file with its figures.

fio's iolog replay times each read from the issue of the one before (iolog.c, iolog_delay), so
a read that takes longer than its file's frame interval delays every later read of that file
for good. Both files' reads wait in one throttle queue, a light read behind at most one heavy
read; the cap is chosen so that wait stays inside the light file's frame interval, and the
light file's drops are the drive's, not the replay's. What makes room for that: the heavy file
plays at more than twice the light one's frame rate, so one heavy frame is a small part of the
cap's second, and the light file has no audio track, so it makes one read per frame.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_qlab.core.units import BYTES_PER_MB
from pytest_qlab.fio.runner import FioRunner, locate_fio
from pytest_qlab.media.framemap import read_frame_map
from pytest_qlab.media.playback import play_media
from pytest_qlab.media.rates import media_rates
from tests.helpers.media import make_movie

if TYPE_CHECKING:
    from tests.integration.conftest import BlkioCgroup

pytestmark = [pytest.mark.integration, pytest.mark.timing]

SECONDS = 4.0
BUFFER_FRAMES = 3
LIGHT_FPS = Fraction(25)
HEAVY_FPS = Fraction(60000, 1001)
HEAVY_SHARE = 0.7
"""The cap is the light file's peak plus this share of the heavy file's: the heavy file falls
0.3 s behind each second, past its 3-frame buffer (50 ms) within the first second."""


@pytest.mark.needs_root
def test_a_capped_drive_drops_frames_in_the_file_that_needs_more(
    tmp_path: Path, blkio_cgroup: BlkioCgroup, block_device: tuple[int, int]
) -> None:
    show = tmp_path / "Show"
    show.mkdir()
    light = make_movie(
        show / "logo.mov",
        profile=0,
        width=320,
        height=180,
        fps=LIGHT_FPS,
        seconds=SECONDS,
        audio_channels=0,  # one read per frame: each may wait behind one heavy read
    )
    heavy = make_movie(
        show / "backdrop.mov", profile=4, width=640, height=360, fps=HEAVY_FPS, seconds=SECONDS
    )
    maps = [read_frame_map(light.path), read_frame_map(heavy.path)]
    light_peak_mb_s, heavy_peak_mb_s = (media_rates(frame_map).peak_mb_s for frame_map in maps)
    cap_mb_s = light_peak_mb_s + HEAVY_SHARE * heavy_peak_mb_s
    heavy_read_ms = max(maps[1].frame_sizes) / (cap_mb_s * BYTES_PER_MB) * 1000
    assert heavy_read_ms < 0.75 * 1000 / LIGHT_FPS, "a light read would wait past its interval"
    blkio_cgroup.limit_read(block_device, round(cap_mb_s * BYTES_PER_MB))
    runner = FioRunner(locate_fio(), tmp_path / "fio-work")

    with blkio_cgroup.joined():
        playback = play_media(runner, maps, buffer_frames=BUFFER_FRAMES, label="capped")

    light_result, heavy_result = playback.files
    for result, movie in ((light_result, light), (heavy_result, heavy)):
        assert result.frames.frames_read == movie.frames, "every frame arrives, late or not"
        assert result.bytes_read == result.schedule.map_bytes + result.schedule.alignment_bytes
    # The cap held: the heavy file falls ever further behind, the light one keeps up.
    lateness_ms = [p.lateness_ms for p in heavy_result.lateness if p.lateness_ms is not None]
    assert lateness_ms[-1] > lateness_ms[0] + 1000 * BUFFER_FRAMES / 60, heavy_result.summary()
    assert heavy_result.dropped >= heavy_result.frames.due_frames // 2, heavy_result.summary()
    assert light_result.dropped <= light_result.frames.due_frames // 20, playback.failures()
    assert light_result.dropped < heavy_result.dropped
    heavy_line = (
        f"backdrop.mov (ProRes 4444 640x360 59.94, {heavy_result.rates.mean_mb_s:.1f} MB/s mean, "
        f"{heavy_peak_mb_s:.1f} peak): {heavy_result.dropped} of {heavy.frames} frames dropped, "
        f"worst {heavy_result.frames.worst_lateness_ms:.0f} ms late"
    )
    assert playback.failures()[-1] == heavy_line, playback.failures()
