"""Frame maps of real ProRes movies made here with PyAV: the map says what the container says,
and bad media is refused in one line that names the file."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from pytest_qlab.core.errors import QlabError
from pytest_qlab.media.codecs import describe, fourcc_text
from pytest_qlab.media.errors import (
    MediaCodecError,
    MediaNotFoundError,
    MediaNoVideoError,
    MediaSampleTableError,
    MediaUnreadableError,
)
from pytest_qlab.media.framemap import FrameMap, read_frame_map
from tests.helpers.media import PRORES_FOURCCS, GeneratedMovie, make_audio_only, make_movie

PRORES_NAMES = (
    "ProRes 422 Proxy",
    "ProRes 422 LT",
    "ProRes 422",
    "ProRes 422 HQ",
    "ProRes 4444",
    "ProRes 4444 XQ",
)


@pytest.fixture(scope="module")
def movies(tmp_path_factory: pytest.TempPathFactory) -> dict[int, GeneratedMovie]:
    """One 2 s 320x180 29.97 movie per prores_ks profile, stereo PCM."""
    folder = tmp_path_factory.mktemp("movies")
    return {
        profile: make_movie(folder / f"p{profile}.mov", profile=profile, seconds=2.0)
        for profile in range(6)
    }


def _container_tables(path: Path) -> tuple[list[tuple[int, int]], int, int]:
    """(pos, size) of every shown video sample, the video track's and audio track's bytes,
    straight from PyAV."""
    with av.open(str(path)) as container:
        video = [(e.pos, e.size) for e in container.streams.video[0].index_entries]
        audio_bytes = sum(e.size for e in container.streams.audio[0].index_entries)
    return video, sum(size for _, size in video), audio_bytes


@pytest.mark.parametrize("profile", range(6))
def test_map_matches_the_container(movies: dict[int, GeneratedMovie], profile: int) -> None:
    movie = movies[profile]
    frame_map = read_frame_map(movie.path)
    video, video_bytes, audio_bytes = _container_tables(movie.path)
    assert frame_map.frames == movie.frames == len(video)
    assert list(zip(frame_map.frame_offsets, frame_map.frame_sizes, strict=True)) == video
    assert frame_map.video_bytes == video_bytes
    assert frame_map.audio_bytes == audio_bytes
    file_bytes = movie.path.stat().st_size
    assert frame_map.file_bytes == file_bytes
    ends = [o + s for o, s in zip(frame_map.frame_offsets, frame_map.frame_sizes, strict=True)]
    assert min(frame_map.frame_offsets) >= 0
    assert max(ends) <= file_bytes
    assert frame_map.codec.fourcc == PRORES_FOURCCS[profile]
    assert frame_map.codec.description == PRORES_NAMES[profile]
    assert frame_map.describe() == f"{PRORES_NAMES[profile]} 320x180 29.97"


def test_times_durations_and_rate(movies: dict[int, GeneratedMovie]) -> None:
    frame_map = read_frame_map(movies[3].path)
    assert frame_map.fps_text == "29.97"
    assert frame_map.raster == "320x180"
    # 1001/30000 s per frame, each time rounded from its own tick count: no drift
    assert list(frame_map.frame_times_us[:4]) == [0, 33367, 66733, 100100]
    assert frame_map.frame_times_us[-1] == round((movies[3].frames - 1) * 1001 * 1_000_000 / 30_000)
    assert set(frame_map.frame_durations_us) <= {33366, 33367}
    assert frame_map.duration_s == pytest.approx(60 * 1001 / 30000, abs=1e-5)


def test_frame_sizes_vary_as_encoded(movies: dict[int, GeneratedMovie]) -> None:
    frame_map = read_frame_map(movies[3].path)
    sizes = list(frame_map.frame_sizes)
    distinct = movies[3].distinct_frames
    assert len(set(sizes)) == distinct  # real VBR: each encoded frame has its own size
    assert sizes[:distinct] == sizes[distinct : 2 * distinct]


def test_audio_entries_are_joined_into_the_chunks_stored_between_frames(
    movies: dict[int, GeneratedMovie],
) -> None:
    frame_map = read_frame_map(movies[3].path)
    chunks = list(zip(frame_map.audio_offsets, frame_map.audio_sizes, strict=True))
    frame_starts = set(frame_map.frame_offsets)
    # FFmpeg's 1024-sample entries are joined again: a chunk ends where a frame begins
    assert all(offset + size in frame_starts for offset, size in chunks[:-1])
    assert list(frame_map.audio_times_us) == sorted(frame_map.audio_times_us)
    # 1601 stereo 16-bit samples per muxed packet: 6404 bytes a chunk
    assert all(size % 6404 == 0 for size in frame_map.audio_sizes)


def test_map_reads_the_tables_not_the_media(movies: dict[int, GeneratedMovie]) -> None:
    """FFmpeg reads the header, the tables and the one frame its stream probe needs."""
    frame_map = read_frame_map(movies[5].path)
    largest = max(frame_map.frame_sizes)
    assert frame_map.probe_bytes_read <= 32768 + largest + 64 * 1024
    assert frame_map.probe_bytes_read < frame_map.file_bytes / 4


def test_map_leaves_the_file_untouched(movies: dict[int, GeneratedMovie]) -> None:
    path = movies[0].path
    before = path.read_bytes(), path.stat().st_mtime_ns
    read_frame_map(path)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert sorted(p.name for p in path.parent.iterdir()) == [f"p{n}.mov" for n in range(6)]


def test_codec_names() -> None:
    assert describe("hap", "HapY").description == "HAP Q"
    assert describe("h264", "avc1").description == "H.264"
    assert describe("hevc", "hvc1").description == "HEVC (H.265)"
    assert describe("weird", "wxyz").description == "weird"
    assert fourcc_text(0x68637061) == "apch"


# --- bad media ---------------------------------------------------------------------------


def _expect(error: type[QlabError], path: Path, words: str) -> None:
    with pytest.raises(error) as caught:
        read_frame_map(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert words in message


def _patched(source: Path, target: Path, find: bytes, replace: bytes) -> Path:
    data = bytearray(source.read_bytes())
    where = data.find(find)
    assert where > 0, f"{find!r} not in {source}"
    data[where : where + len(replace)] = replace
    target.write_bytes(bytes(data))
    return target


def test_missing_path(tmp_path: Path) -> None:
    _expect(MediaNotFoundError, tmp_path / "gone.mov", "no such file")


def test_folder_is_not_a_movie(tmp_path: Path) -> None:
    _expect(MediaNotFoundError, tmp_path, "is not a file")


def test_text_file_named_mov(tmp_path: Path) -> None:
    path = tmp_path / "notes.mov"
    path.write_text("cue list, not a movie\n" * 50, encoding="utf-8")
    _expect(MediaUnreadableError, path, "is not a movie FFmpeg can read")


def test_truncated_movie(movies: dict[int, GeneratedMovie], tmp_path: Path) -> None:
    """Without faststart the tables are at the end: a cut copy has none."""
    data = movies[3].path.read_bytes()
    path = tmp_path / "cut.mov"
    path.write_bytes(data[: len(data) // 2])
    _expect(MediaUnreadableError, path, "damaged or truncated")


def test_movie_without_video(tmp_path: Path) -> None:
    path = make_audio_only(tmp_path / "sound.mov")
    _expect(MediaNoVideoError, path, "has no video track")


def test_codec_ffmpeg_does_not_know(movies: dict[int, GeneratedMovie], tmp_path: Path) -> None:
    path = _patched(movies[3].path, tmp_path / "odd.mov", b"apch", b"qzqz")
    _expect(MediaCodecError, path, "FFmpeg does not know")


def test_damaged_sample_table(movies: dict[int, GeneratedMovie], tmp_path: Path) -> None:
    """A chunk offset past the end of the file is caught when the map is built."""
    source = movies[3].path
    data = bytearray(source.read_bytes())
    stco = data.find(b"stco")  # the video track's chunk offsets: version, count, offsets
    first_offset = stco + 4 + 4 + 4
    data[first_offset : first_offset + 4] = (len(data) + 10_000).to_bytes(4, "big")
    path = tmp_path / "damaged.mov"
    path.write_bytes(bytes(data))
    _expect(MediaSampleTableError, path, "sample table is damaged")


def test_frame_map_is_compact(movies: dict[int, GeneratedMovie]) -> None:
    frame_map = read_frame_map(movies[2].path)
    assert isinstance(frame_map, FrameMap)
    assert frame_map.frame_offsets.itemsize == 8
    assert frame_map.frame_offsets.typecode == "q"
