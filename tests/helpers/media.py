"""Real test movies made with PyAV: ProRes (prores_ks, profiles 0-5) with a PCM audio track.

A few distinct frames are encoded once and their packets muxed again and again with advancing
timestamps, so a clip of any length has a real VBR sample table and takes a fraction of a
second to make (the two-hour bench file included). Nothing is committed: movies go to tmp.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

NTSC_FPS = Fraction(30000, 1001)
AUDIO_RATE_HZ = 48_000
PRORES_FOURCCS = ("apco", "apcs", "apcn", "apch", "ap4h", "ap4x")
"""prores_ks profile 0-5, in order."""


@dataclass(frozen=True)
class GeneratedMovie:
    path: Path
    profile: int
    frames: int
    distinct_frames: int


def make_movie(
    path: Path,
    *,
    profile: int = 3,
    width: int = 320,
    height: int = 180,
    seconds: float = 3.0,
    fps: Fraction = NTSC_FPS,
    distinct_frames: int = 5,
    audio_channels: int = 2,
    audio_samples_per_chunk: int = 1601,
    frames: int | None = None,
) -> GeneratedMovie:
    """A ProRes .mov of `seconds` (or `frames`) with 16-bit PCM audio (audio_channels=0: none)."""
    frame_count = frames if frames is not None else round(seconds * fps)
    video_tb = 1 / fps
    audio_tb = Fraction(1, AUDIO_RATE_HZ)
    with av.open(str(path), mode="w", format="mov") as out:
        video = out.add_stream("prores_ks", rate=fps)
        video.width, video.height = width, height
        video.pix_fmt = "yuva444p10le" if profile >= 4 else "yuv422p10le"
        video.options = {"profile": str(profile)}
        video.time_base = video_tb
        audio = None
        if audio_channels:
            layout = "stereo" if audio_channels == 2 else "mono"
            audio = out.add_stream("pcm_s16le", rate=AUDIO_RATE_HZ, layout=layout)
            audio.time_base = audio_tb
        rng = np.random.default_rng(profile)
        packets = []
        for index in range(distinct_frames):
            # Noise of varying strength: distinct frame sizes, so the table is VBR.
            level = (index + 1) / distinct_frames
            image = (rng.random((height, width, 3)) * 255 * level).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format=video.pix_fmt)
            frame.pts = index
            packets += video.encode(frame)
        packets += video.encode(None)
        audio_packet = None
        if audio is not None:
            silence = np.zeros((1, audio_samples_per_chunk * audio_channels), dtype=np.int16)
            chunk = av.AudioFrame.from_ndarray(silence, format="s16", layout=audio.layout.name)
            chunk.sample_rate = AUDIO_RATE_HZ
            chunk.pts = 0
            (audio_packet,) = audio.encode(chunk)
        audio_samples = 0
        for index in range(frame_count):
            packet = packets[index % len(packets)]
            packet.pts = packet.dts = index
            packet.duration = 1
            packet.time_base = video_tb
            packet.stream = video
            out.mux(packet)
            if audio is None or audio_packet is None:
                continue
            while audio_samples < (index + 1) * video_tb * AUDIO_RATE_HZ:
                audio_packet.pts = audio_packet.dts = audio_samples
                audio_packet.duration = audio_samples_per_chunk
                audio_packet.time_base = audio_tb
                audio_packet.stream = audio
                out.mux(audio_packet)
                audio_samples += audio_samples_per_chunk
    return GeneratedMovie(path, profile, frame_count, distinct_frames)


def make_audio_only(path: Path, seconds: float = 1.0) -> Path:
    """A .mov holding only a PCM track: a file without video."""
    with av.open(str(path), mode="w", format="mov") as out:
        audio = out.add_stream("pcm_s16le", rate=AUDIO_RATE_HZ, layout="mono")
        samples = int(seconds * AUDIO_RATE_HZ)
        chunk = av.AudioFrame.from_ndarray(np.zeros((1, samples), dtype=np.int16), format="s16")
        chunk.sample_rate = AUDIO_RATE_HZ
        chunk.pts = 0
        for packet in [*audio.encode(chunk), *audio.encode(None)]:
            out.mux(packet)
    return path
