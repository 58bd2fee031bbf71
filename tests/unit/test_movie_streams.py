"""Streams that play a movie, without fio: a stream looping over its movie, a reference movie's
reads packed into a scratch region, and which streams of a replay get which movie and where in
it they start."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest

from pytest_qlab.core.profiles import SourceKey, StreamSpec
from pytest_qlab.measure.movies import with_movies
from pytest_qlab.measure.replay import ReplayStream
from pytest_qlab.media.movie_stream import MovieFrames, movie_schedule
from pytest_qlab.media.schedule import AUDIO, concatenate, packed, schedule_reads, video_frames_in
from tests.unit.test_media_replay_plan import _map

US = 1_000_000
# four 25 fps frames of growing size, audio after each of the first two
CLIP = _map(
    [
        (0, 40_000, 0),
        (50_000, 60_000, 40_000),
        (120_000, 50_000, 80_000),
        (180_000, 70_000, 120_000),
    ],
    [(40_000, 8_000, 0), (110_000, 8_000, 40_000)],
    fps=Fraction(25),
    file_bytes=260_000,
)
MEDIA = SourceKey("media", "Show/clip.mov")
REFERENCE = SourceKey("frames_from", "/Samples/clip.mov")


def test_a_stream_longer_than_its_movie_loops_and_its_frames_keep_their_deadlines() -> None:
    schedule = movie_schedule(
        MovieFrames(MEDIA, CLIP), play_s=0.4, buffer_frames=3, alignment_bytes=1
    )

    frames = [i for i in schedule.frame_index if i != AUDIO]
    assert frames == list(range(10)), "two and a half passes, numbered on across passes"
    video_times = [
        t for t, i in zip(schedule.issue_us, schedule.frame_index, strict=True) if i != AUDIO
    ]
    assert video_times == [k * 40_000 for k in range(10)], "each pass starts as the last ends"
    assert list(schedule.offset_bytes[:6]) == [0, 40_000, 50_000, 110_000, 120_000, 180_000]
    assert schedule.offset_bytes[6] == 0, "the second pass reads the file from its start"
    assert video_frames_in(schedule) == 10
    assert schedule.map_bytes == 2 * (220_000 + 16_000) + 40_000 + 8_000 + 60_000 + 8_000


def test_a_stream_starting_mid_movie_reads_from_there_then_from_the_start() -> None:
    schedule = movie_schedule(
        MovieFrames(MEDIA, CLIP, from_s=0.08), play_s=0.16, buffer_frames=3, alignment_bytes=1
    )

    video = [
        o for o, i in zip(schedule.offset_bytes, schedule.frame_index, strict=True) if i != AUDIO
    ]
    assert video == [120_000, 180_000, 0, 50_000]
    assert schedule.issue_us[0] == 0, "its first frame is due as the stream starts"


def test_a_reference_movie_is_packed_into_its_scratch_region_and_wraps_inside_it() -> None:
    schedule = movie_schedule(
        MovieFrames(REFERENCE, CLIP),
        play_s=0.16,
        buffer_frames=3,
        alignment_bytes=4096,
        region=(1 << 20, 200_704),
    )

    reads = list(zip(schedule.offset_bytes, schedule.length_bytes, strict=True))
    assert all(
        offset >= 1 << 20 and offset + length <= (1 << 20) + 200_704 for offset, length in reads
    )
    assert reads[0][0] == 1 << 20
    for (offset, length), (following, _) in itertools.pairwise(reads):
        assert following in (offset + length, 1 << 20), "back to back, or from the region's start"
    assert any(offset == 1 << 20 for offset, _ in reads[1:]), "the region is smaller: it wraps"
    original = schedule_reads(CLIP, buffer_frames=3, alignment_bytes=4096)
    assert list(schedule.length_bytes) == list(original.length_bytes), "the same reads"
    assert list(schedule.issue_us) == list(original.issue_us), "at the same times"


def test_packing_refuses_a_read_larger_than_its_region() -> None:
    schedule = schedule_reads(CLIP, buffer_frames=3, alignment_bytes=1)
    with pytest.raises(ValueError, match="does not fit"):
        packed(schedule, 0, 50_000)


def test_concatenated_passes_add_their_bytes_and_number_frames_on() -> None:
    one = schedule_reads(CLIP, buffer_frames=3, alignment_bytes=4096)
    two = concatenate([one, one], [0, 160_000])
    assert two.map_bytes == 2 * one.map_bytes
    assert two.alignment_bytes == 2 * one.alignment_bytes
    assert two.video_read_bytes == 2 * one.video_read_bytes
    assert [i for i in two.frame_index if i != AUDIO] == list(range(8))
    assert two.issue_us[len(one.issue_us)] == 160_000


def _stream(spec: StreamSpec, index: int, start_s: float = 0.0) -> ReplayStream:
    return ReplayStream(f"s{index}", spec, f"stream-{index:02d}.bin", 1 << 27, start_s=start_s)


def test_streams_get_their_movies_and_copies_start_apart() -> None:
    backdrop = StreamSpec(mb_s=20, fps=25, media=MEDIA.path)
    sample = StreamSpec(mb_s=20, fps=25, frames_from=REFERENCE.path)
    plain = StreamSpec(mb_s=20, fps=25)
    sources = {MEDIA: CLIP, REFERENCE: CLIP}
    streams = [
        _stream(backdrop, 1),
        _stream(backdrop, 2),
        _stream(sample, 3),
        _stream(plain, 4),
        _stream(backdrop, 5, start_s=0.04),
    ]

    played = with_movies(streams, sources)

    assert [s.movie.key if s.movie else None for s in played] == [
        MEDIA,
        MEDIA,
        REFERENCE,
        None,
        MEDIA,
    ]
    starts = [s.movie.from_s for s in played if s.movie]
    assert starts[:2] == [0.0, pytest.approx(CLIP.duration_s / 2)], "two copies, half a movie apart"
    assert starts[3] == pytest.approx(CLIP.duration_s / 2 + 0.04), (
        "an incoming cue starts mid-movie"
    )
    only_references = with_movies(streams, sources, kinds=("frames_from",))
    assert [s.movie is not None for s in only_references] == [False, False, True, False, False]
    assert with_movies(streams, {}) == streams, "a volume without the file plays at the rate"
