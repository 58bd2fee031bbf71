"""The show's own media in the main job, with real fio: `--qlab-media` plays the files from the
volume read-only and judges every frame; the files stay byte-identical, with the same mtime,
after a pass, Ctrl-C and a killed run; bad media is one line, nothing measured."""

from __future__ import annotations

import base64
import html
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers.media import make_movie

if TYPE_CHECKING:
    from tests.integration.conftest import Entry, FioWatch, MainJob, MainJobRunner

pytestmark = pytest.mark.integration

SCALE = "0.2"
"""The media replays play 1 s of each file, the crossfade 1 s: a few dozen frames each."""
MEDIA_FOLDER = "Show media #2"
"""A name fio would read as a comment: the path must never reach a job file."""
ONLY_MEDIA = ["-k", "media"]


def _show(volume: Path, seconds: float = 6.0) -> Path:
    folder = volume / MEDIA_FOLDER
    folder.mkdir(parents=True)
    make_movie(folder / "backdrop.mov", profile=3, width=640, height=360, seconds=seconds)
    make_movie(folder / "logo.mov", profile=1, seconds=seconds)
    return folder


ITEM = re.compile(r'<article class="qlab-item" data-nodeid="([^"]*)">(.*?)</article>', re.DOTALL)
PLOT = re.compile(
    r'<figure class="qlab-plot"><img alt="([^"]*)" src="data:image/svg\+xml;base64,([^"]*)"'
)


def _html_plots(job: MainJob) -> dict[str, dict[str, str]]:
    """Each test's plots in the HTML report's evidence, by test name and plot name, as SVG."""
    (page_path,) = job.report_dir.glob("*.html")
    page = page_path.read_text(encoding="utf-8")
    plots: dict[str, dict[str, str]] = {}
    for nodeid, body in ITEM.findall(page):
        name = html.unescape(nodeid).rsplit("::", 1)[-1].split("[", 1)[0]
        for plot_name, encoded in PLOT.findall(body):
            plots.setdefault(name, {})[html.unescape(plot_name)] = base64.b64decode(
                encoded
            ).decode()
    assert plots, "no plot in the HTML report's evidence"
    return plots


@pytest.mark.timing
def test_two_files_play_without_a_drop_and_stay_byte_identical(
    tmp_path: Path,
    main_job: MainJobRunner,
    volume_snapshot: Callable[[Path], dict[str, Entry]],
) -> None:
    volume = tmp_path / "Show"
    folder = _show(volume)
    before = volume_snapshot(volume)

    job = main_job.run(volume, "--qlab-media", str(folder), *ONLY_MEDIA, scale=SCALE)

    assert "Traceback" not in job.output, job.output
    assert job.outcomes() == {
        "test_media_playback[system-Show]": "passed",
        "test_media_crossfade[system-Show]": "passed",
    }, job.output
    assert volume_snapshot(volume) == before, "the show's files changed"
    assert not (volume / ".pytest-qlab").exists(), "scratch folder left behind"
    volume_report = job.volume_report()
    media = volume_report["media"]
    assert [item["path"] for item in media] == [
        f"{MEDIA_FOLDER}/backdrop.mov",
        f"{MEDIA_FOLDER}/logo.mov",
    ]
    backdrop = media[0]
    assert (backdrop["codec"], backdrop["fourcc"], backdrop["raster"]) == (
        "ProRes 422 HQ",
        "apch",
        "640x360",
    )
    assert backdrop["fps"] == pytest.approx(29.97, abs=0.01)
    assert backdrop["dropped_frames"] == 0
    assert backdrop["frames_played"] >= 25, "a second of a 29.97 fps file"
    assert backdrop["bytes_read"] > 0
    assert 0 < backdrop["mean_mb_s"] <= backdrop["peak_mb_s"]
    profile = job.report()["qlab"]["profile"]
    assert profile["name"] == "media: backdrop.mov + logo.mov"
    assert profile["derivation"][0].startswith("backdrop.mov: ProRes 422 HQ 640x360 29.97")
    playback = job.test_entry("test_media_playback")["metadata"]
    for item in playback["per_file"]:
        assert item["bytes_read"] == item["map_bytes"] + item["alignment_bytes"], item
    crossfade = job.test_entry("test_media_crossfade")["metadata"]
    assert crossfade["files"] == 4, "the set twice: playing on, and each file from its middle"
    assert "media Show media #2/backdrop.mov (ProRes 422 HQ 640x360 29.97" in job.stdout
    for item in playback["per_file"]:
        lateness = item["lateness"]
        assert len(lateness) == item["frames"], "one point per frame of a second's replay"
        assert sum(point["dropped_frames"] for point in lateness) == item["dropped_frames"]
        arrived = [point["lateness_ms"] for point in lateness if point["lateness_ms"] is not None]
        if item["dropped_frames"]:
            assert max(arrived) == pytest.approx(item["worst_lateness_ms"], abs=1e-3)
        else:
            assert len(arrived) == item["frames"], lateness
            assert max(arrived) <= 0, lateness
    plots = _html_plots(job)
    for test, labels in (
        ("test_media_playback", ["backdrop.mov", "logo.mov"]),
        ("test_media_crossfade", ["backdrop.mov from ", "logo.mov from "]),
    ):
        svg = plots[test]["lateness over time"]
        for label in [*labels, "deadline (0 ms late)", "no dropped frames"]:
            assert f"<!-- {label}" in svg, (test, label)


def _cached_bytes(path: Path) -> int:
    """The file's bytes in the page cache, as util-linux's fincore counts them."""
    run = subprocess.run(
        ["fincore", "--bytes", "--noheadings", "--output", "RES", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(run.stdout.strip())


@pytest.mark.skipif(shutil.which("fincore") is None, reason="needs util-linux's fincore")
def test_the_report_says_the_frames_came_from_the_drive_and_fio_dropped_the_cache(
    tmp_path: Path,
    main_job: MainJobRunner,
    volume_snapshot: Callable[[Path], dict[str, Entry]],
) -> None:
    """Our own just-made movies, their pages in the cache (written, then read by the snapshot):
    the run's report says the cache was bypassed on Linux, and it was: fio's invalidate dropped
    the pages and its direct reads did not bring them back."""
    volume = tmp_path / "Show"
    folder = _show(volume, seconds=3.0)
    os.sync()  # written back, so the pages are clean: what invalidate can drop
    before = volume_snapshot(volume)  # reads every byte: the files are now in the cache
    movies = sorted(folder.iterdir())
    assert all(_cached_bytes(movie) >= movie.stat().st_size for movie in movies)  # whole pages

    job = main_job.run(
        volume, "--qlab-media", str(folder), "-k", "test_media_playback", scale=SCALE
    )

    assert "Traceback" not in job.output, job.output
    # judged, not necessarily passed: on the system disk under other load a late frame is real
    assert job.outcomes()["test_media_playback[system-Show]"] in ("passed", "failed"), job.output
    cached_after = [_cached_bytes(movie) for movie in movies]  # before the snapshot reads them
    assert volume_snapshot(volume) == before, "the show's files changed"
    assert cached_after == [0] * len(movies), "fio left the files' pages in the cache"
    volume_report = job.volume_report()
    for item in volume_report["media"]:
        assert item["may_be_cached"] is False, item
        assert "direct I/O (O_DIRECT)" in item["cache_note"], item
        assert "invalidate=1" in item["cache_note"], item
    assert not [a for a in volume_report["advisories"] if a["name"] == "media-cache"]
    (page_path,) = job.report_dir.glob("*.html")
    page = html.unescape(page_path.read_text(encoding="utf-8"))
    assert 'class="qlab-cache"' in page
    assert f"{MEDIA_FOLDER}/backdrop.mov, {MEDIA_FOLDER}/logo.mov: read from the drive" in page


def test_a_failed_run_leaves_the_media_untouched(
    tmp_path: Path,
    main_job: MainJobRunner,
    volume_snapshot: Callable[[Path], dict[str, Entry]],
) -> None:
    """A show no single drive carries (10 GB/s) fails the sequential read, with the media played."""
    volume = tmp_path / "Show"
    folder = _show(volume)
    before = volume_snapshot(volume)

    job = main_job.run(
        volume,
        "--qlab-media",
        str(folder),
        "--qlab-stream",
        "10000MB/s@240",
        "-k",
        "media_playback or sequential_read",
        scale=SCALE,
    )

    assert job.returncode == 1, job.output
    outcomes = job.outcomes()
    assert outcomes["test_sequential_read[system-Show-acceptable]"] == "failed", job.output
    assert "test_media_playback[system-Show]" in outcomes, "the media played before the end"
    assert volume_snapshot(volume) == before, "the show's files changed"
    assert not (volume / ".pytest-qlab").exists(), "scratch folder left behind"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_an_interrupted_or_killed_run_leaves_the_media_untouched(
    tmp_path: Path,
    main_job: MainJobRunner,
    fio_watch: FioWatch,
    volume_snapshot: Callable[[Path], dict[str, Entry]],
    signum: signal.Signals,
) -> None:
    volume = tmp_path / "Show"
    folder = _show(volume, seconds=12.0)
    before = volume_snapshot(folder)  # a killed run leaves its scratch folder for the next start
    arguments = ["--qlab-media", str(folder), "-k", "test_media_playback"]
    process = main_job.start(volume, *arguments, scale="1")
    try:
        fio_watch.wait_for(process, "media-playback")
        time.sleep(1.0)  # fio is reading the show's files
        os.kill(process.pid, signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    lingering = fio_watch.lingering((volume, main_job.system_temp), grace_s=10.0)

    assert lingering == [], "fio outlived the run"
    assert volume_snapshot(folder) == before, "the show's files changed"
    if signum is signal.SIGINT:
        job = main_job.finished(process.returncode, stdout, stderr)
        assert job.returncode == pytest.ExitCode.INTERRUPTED, job.output
        assert "Traceback" not in job.output, job.output
        assert not (volume / ".pytest-qlab").exists(), "scratch folder left behind"


def _movie_without_video(path: Path) -> None:
    import av

    with av.open(str(path), mode="w", format="mov") as out:
        audio = out.add_stream("pcm_s16le", rate=48_000, layout="stereo")
        frame = av.AudioFrame(format="s16", layout="stereo", samples=1024)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate = 48_000
        for packet in audio.encode(frame):
            out.mux(packet)
        for packet in audio.encode(None):
            out.mux(packet)


BAD_MEDIA: dict[str, tuple[Callable[[Path, Path], Path], str]] = {
    "truncated": (
        lambda volume, other: _truncated(volume / "cut.mov"),
        "cut.mov: ",
    ),
    "text-named-mov": (
        lambda volume, other: _written(volume / "notes.mov", b"cue 1: house open\n"),
        "notes.mov: ",
    ),
    "no-video-track": (
        lambda volume, other: _audio_only(volume / "sound.mov"),
        "sound.mov: ",
    ),
    "outside-the-volume": (
        lambda volume, other: make_movie(other / "elsewhere.mov", seconds=1.0).path,
        "not inside the volume being qualified",
    ),
    "missing": (lambda volume, other: volume / "nowhere.mov", "no such file or folder"),
    "folder-without-media": (
        lambda volume, other: _folder(volume / "stills"),
        "the folder holds no .mov, .mp4 or .m4v file",
    ),
}


def _written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _truncated(path: Path) -> Path:
    make_movie(path, seconds=2.0)
    with path.open("r+b") as movie:
        movie.truncate(path.stat().st_size // 2)  # the sample tables are at the end
    return path


def _audio_only(path: Path) -> Path:
    _movie_without_video(path)
    return path


def _folder(path: Path) -> Path:
    path.mkdir()
    (path / "poster.png").write_bytes(b"\x89PNG not really")
    return path


@pytest.mark.parametrize("case", list(BAD_MEDIA))
def test_bad_media_is_one_line_naming_the_file_and_nothing_is_measured(
    tmp_path: Path,
    main_job: MainJobRunner,
    volume_snapshot: Callable[[Path], dict[str, Entry]],
    case: str,
) -> None:
    volume, other = tmp_path / "Show", tmp_path / "Other drive"
    volume.mkdir()
    other.mkdir()
    make, expected = BAD_MEDIA[case]
    named = make(volume, other)
    before = volume_snapshot(volume)

    job = main_job.run(volume, "--qlab-media", str(named), scale=SCALE)

    error = job.refusal()
    assert expected in error, error
    assert str(named) in error or named.name in error, error
    assert volume_snapshot(volume) == before
    assert not (volume / ".pytest-qlab").exists()
