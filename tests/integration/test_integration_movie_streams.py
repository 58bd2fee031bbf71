"""Streams that play a movie, end to end with real fio: the show pattern plays the show's own
files in its phases (read-only, byte-identical afterwards), a profile names a show file per
stream, and a blank drive replays a reference movie's real frame sizes on scratch files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers.media import make_movie

if TYPE_CHECKING:
    from tests.integration.conftest import Entry, MainJobRunner

pytestmark = pytest.mark.integration

PHASES = ["house-open", "act-1", "intermission", "act-2", "finale"]


def _show(volume: Path) -> Path:
    folder = volume / "Show"
    folder.mkdir(parents=True)
    make_movie(folder / "backdrop.mov", profile=3, width=640, height=360, seconds=4.0)
    make_movie(folder / "logo.mov", profile=1, seconds=3.0)
    return folder


@pytest.mark.timing
def test_the_show_pattern_plays_the_media_in_its_phases(
    tmp_path: Path,
    main_job: MainJobRunner,
    volume_snapshot: Callable[[Path], dict[str, Entry]],
) -> None:
    volume = tmp_path / "Volume"
    folder = _show(volume)
    before = volume_snapshot(volume)

    job = main_job.run(volume, "-m", "show_pattern", "--qlab-media", str(folder), scale="0.00125")

    assert "Traceback" not in job.output, job.output
    tests = job.report()["tests"]
    assert [test["metadata"]["phase"] for test in tests] == PHASES, job.output
    for test in tests:
        metadata = test["metadata"]
        assert test["outcome"] == "passed", test["call"].get("longrepr")
        assert metadata["dropped_frames"] == 0
        played = {stream["movie"]: stream for stream in metadata["per_stream"]}
        assert played, f"{metadata['phase']}: no stream played a movie"
        for path, stream in played.items():
            assert Path(path).parent == folder, path
            assert stream["movie_read_from"] == "the show file"
            assert stream["frames_read"] >= stream["due_frames"] > 0
        # the movies' reads, not their peak rates, are what the phase had to carry
        assert metadata["achieved_mb_s"] >= 0.95 * metadata["scheduled_mb_s"]
    act = next(test["metadata"] for test in tests if test["metadata"]["phase"] == "act-1")
    assert {Path(s["movie"]).name for s in act["per_stream"]} == {"backdrop.mov", "logo.mov"}
    assert act["crossfades"] >= 1
    assert volume_snapshot(volume) == before, "the show's files changed"
    assert not (volume / ".pytest-qlab").exists(), "scratch folder left behind"


def test_a_blank_drive_replays_a_reference_movies_frames_on_scratch_files(
    tmp_path: Path,
    main_job: MainJobRunner,
    volume_snapshot: Callable[[Path], dict[str, Entry]],
) -> None:
    volume = tmp_path / "Blank"
    volume.mkdir()
    samples = tmp_path / "samples"
    samples.mkdir()
    reference = make_movie(samples / "reference.mov", profile=3, width=640, height=360).path
    profile = tmp_path / "rental.toml"
    profile.write_text(
        'name = "rental"\n[[streams]]\nname = "backdrop"\nframes_from = "samples/reference.mov"\n'
        "count = 2\n",
        encoding="utf-8",
    )
    reference_before = volume_snapshot(samples)

    job = main_job.run(
        volume, "--qlab-profile", str(profile), "-k", "playback or crossfade", scale="0.2"
    )

    assert "Traceback" not in job.output, job.output
    assert "test_normal_playback[system-Blank]" in job.outcomes(), job.output
    for name in ("test_normal_playback", "test_crossfade_playback"):
        streams = job.test_entry(name)["metadata"]["per_stream"]
        assert [s["movie"] for s in streams] == [str(reference.resolve())] * len(streams)
        assert {s["movie_read_from"] for s in streams} == {"scratch files"}
        starts = [s["movie_start_s"] for s in streams]
        assert len(set(starts)) == len(starts), "copies of the movie start apart"
        # every frame of the reference's sequence was read (on time or not: the drive decides)
        assert all(s["frames_read"] >= s["due_frames"] > 0 for s in streams), streams
    derivation = job.report()["qlab"]["profile"]["derivation"]
    assert any(f"busiest second of {reference.resolve()}" in line for line in derivation)
    assert volume_snapshot(samples) == reference_before, "the reference movie changed"
    assert list(volume.iterdir()) == [], "the blank drive is blank again"


def test_a_profile_stream_names_a_show_file_on_the_volume(
    tmp_path: Path,
    main_job: MainJobRunner,
    volume_snapshot: Callable[[Path], dict[str, Entry]],
) -> None:
    volume = tmp_path / "Volume"
    _show(volume)
    profile = tmp_path / "show.toml"
    profile.write_text(
        'name = "backdrop and screens"\n'
        '[[streams]]\nmedia = "Show/backdrop.mov"\n'
        '[[streams]]\nname = "screens"\nmb_s = 5\nfps = 29.97\n',
        encoding="utf-8",
    )
    before = volume_snapshot(volume)

    job = main_job.run(volume, "--qlab-profile", str(profile), "-k", "media", scale="0.2")

    assert "Traceback" not in job.output, job.output
    assert "test_media_playback[system-Volume]" in job.outcomes(), job.output
    (played,) = job.test_entry("test_media_playback")["metadata"]["per_file"]
    assert played["path"].endswith("Show/backdrop.mov"), "only the file the profile names"
    assert played["bytes_read"] == played["map_bytes"] + played["alignment_bytes"], played
    streams = job.report()["qlab"]["profile"]["derivation"]
    assert any("busiest second of Show/backdrop.mov" in line for line in streams), streams
    assert volume_snapshot(volume) == before, "the show's files changed"

    missing = tmp_path / "Elsewhere"
    missing.mkdir()
    line = main_job.run(missing, "--qlab-profile", str(profile), scale="0.2").refusal()
    assert "Show/backdrop.mov" in line
    assert f"not on volume {missing}" in line
