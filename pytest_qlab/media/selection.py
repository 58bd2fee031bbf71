"""Which files are the show's media: `--qlab-media` names files, or folders whose movies are
all taken in name order, and each must lie inside the volume being qualified. Replaying a
file on another drive would measure that drive, so it is refused before anything runs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pytest_qlab.media.errors import (
    MediaFolderEmptyError,
    MediaNotFoundError,
    MediaOutsideVolumeError,
)

MEDIA_SUFFIXES = (".mov", ".mp4", ".m4v")


def media_files(raw: str) -> tuple[Path, ...]:
    """The movies a `--qlab-media` value names: the file itself, or a folder's movies by name."""
    path = Path(raw).expanduser()
    if not path.exists():
        raise MediaNotFoundError(path, "no such file or folder; check the path of --qlab-media")
    if path.is_dir():
        found = sorted(
            (entry for entry in path.iterdir() if entry.suffix.lower() in MEDIA_SUFFIXES),
            key=lambda entry: entry.name,
        )
        movies = tuple(entry for entry in found if entry.is_file())
        if not movies:
            raise MediaFolderEmptyError(
                path, "the folder holds no .mov, .mp4 or .m4v file; name the show's media folder"
            )
        return movies
    if not path.is_file():
        raise MediaNotFoundError(path, "not a regular file; name a movie or a folder of movies")
    return (path,)


def volume_of(movie: Path, volumes: Sequence[Path]) -> Path:
    """The --volume folder `movie` lies inside (links resolved), else a one-line refusal."""
    real = movie.resolve()
    for volume in volumes:
        if real.is_relative_to(volume.resolve()):
            return volume
    given = ", ".join(str(volume) for volume in volumes)
    raise MediaOutsideVolumeError(
        movie,
        f"not inside the volume being qualified ({given}); replaying it would measure another "
        "drive: copy it to the show drive, or qualify the drive it is on with --volume",
    )
