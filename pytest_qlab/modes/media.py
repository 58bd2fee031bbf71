"""The setup check's replay of the show's own media on one volume, usable without pytest: the
files play together for the normal replay's time, read-only, every frame judged; then the
crossfade: the set plays on while each file starts again mid-file, as a second cue would.

Each stretch is read once in the run: the normal set plays the files' first seconds, the
crossfade the seconds after them and, for the incoming copy, seconds from the middle, so no
cache along the way serves a frame a second time (unless a file is too short to hold them)."""

from __future__ import annotations

from collections.abc import Sequence

from pytest_qlab.core.evidence import VolumeRecord
from pytest_qlab.fio.runner import FioRunner
from pytest_qlab.measure.frametimes import FrameTimes
from pytest_qlab.media.framemap import FrameMap
from pytest_qlab.media.playback import MediaPlayback, play_media
from pytest_qlab.media.window import play_window
from pytest_qlab.modes.once import Once
from pytest_qlab.modes.setup_check import SetupCheckPlan


def stretch(frame_map: FrameMap, start_s: float, duration_s: float) -> FrameMap:
    """From `start_s`, or from the start when the file ends before it (a short file is then
    read again: there is nothing else of it to read)."""
    if start_s >= frame_map.duration_s:
        start_s = 0.0
    return play_window(frame_map, start_s, duration_s)


class MediaCheck:
    def __init__(
        self,
        runner: FioRunner,
        plan: SetupCheckPlan,
        record: VolumeRecord,
        *,
        buffer_frames: int,
        frame_times: FrameTimes | None = None,
    ) -> None:
        self.runner = runner
        self.plan = plan
        self.record = record
        self.buffer_frames = buffer_frames
        self.frame_times = frame_times
        self._once = Once()

    @property
    def media(self) -> tuple[FrameMap, ...]:
        return self.record.media

    def _play(self, label: str, stretches: Sequence[FrameMap]) -> MediaPlayback:
        return play_media(
            self.runner,
            stretches,
            buffer_frames=self.buffer_frames,
            label=label,
            frame_times=self.frame_times,
        )

    def playback(self) -> MediaPlayback:
        """The files together, from their starts, for the normal replay's time."""

        def measure() -> MediaPlayback:
            duration_s = self.plan.normal_duration_s
            result = self._play("media-playback", [stretch(m, 0.0, duration_s) for m in self.media])
            self.record.media_playback = result
            return result

        return self._once("playback", measure)

    def crossfade(self) -> MediaPlayback:
        """The set playing on past the normal replay, and each file again from its middle."""

        def measure() -> MediaPlayback:
            start_s = self.plan.normal_duration_s
            duration_s = self.plan.crossfade_duration_s
            outgoing = [stretch(m, start_s, duration_s) for m in self.media]
            incoming = [stretch(m, m.duration_s / 2, duration_s) for m in self.media]
            result = self._play("media-crossfade", [*outgoing, *incoming])
            self.record.media_crossfade = result
            return result

        return self._once("crossfade", measure)
