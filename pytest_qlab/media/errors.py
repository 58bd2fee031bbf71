"""Bad media, each explained in one line that names the file and says what to do."""

from __future__ import annotations

from pathlib import Path

from pytest_qlab.core.errors import QlabError


class MediaError(QlabError):
    """A media file cannot be mapped or replayed; nothing was measured."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class MediaNotFoundError(MediaError):
    """The path does not exist or is not a regular file."""


class MediaUnreadableError(MediaError):
    """FFmpeg cannot read the container: not a movie, or truncated before its sample tables."""


class MediaNoVideoError(MediaError):
    """The container holds no video track to play."""


class MediaCodecError(MediaError):
    """The video track's codec is one FFmpeg does not know."""


class MediaSampleTableError(MediaError):
    """The sample tables point outside the file: replaying them would read garbage or fail."""


class MediaReplayError(MediaError):
    """The installed fio cannot replay a timed trace of this file."""


class MediaOutsideVolumeError(MediaError):
    """The file is on another drive than every --volume: replaying it measures the wrong drive."""


class MediaFolderEmptyError(MediaError):
    """A folder named as the show's media holds no movie."""
