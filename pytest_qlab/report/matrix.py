"""The "Will it work?" matrix: for every ProRes flavour, raster and frame rate, how many
simultaneous streams the measured drive carries; replayed cells are marked verified."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from pytest_qlab.core.profiles import rate_table
from pytest_qlab.core.units import BYTES_PER_MB

CellKey = tuple[str, str, int]
"""(codec, raster, nominal fps)"""


class MatrixCell(BaseModel):
    """One cell; a pydantic model because the JSON report publishes it as it is."""

    model_config = ConfigDict(frozen=True)

    codec: str
    raster: str
    fps: int
    mb_s_each: float
    estimated_streams: int
    """From the sustained read: read MB/s / (stream MB/s x headroom)."""
    verified_streams: int | None
    """Streams actually replayed together without a dropped frame, where replayed."""


def will_it_work(
    read_mb_s: float, headroom: float, verified: Mapping[CellKey, int]
) -> list[MatrixCell]:
    cells = []
    for (codec, raster, fps), target_mbit_s in rate_table().target_mbit_s.items():
        mb_s_each = target_mbit_s * 1_000_000 / 8 / BYTES_PER_MB
        cells.append(
            MatrixCell(
                codec=codec,
                raster=raster,
                fps=fps,
                mb_s_each=round(mb_s_each, 3),
                # The epsilon keeps an exact whole number of streams from flooring to one less.
                estimated_streams=math.floor(read_mb_s / (mb_s_each * headroom) + 1e-9),
                verified_streams=verified.get((codec, raster, fps)),
            )
        )
    return cells


RowKey = tuple[str, str]
"""(codec, raster): one row of the matrix."""


def show_rows(cells: Sequence[MatrixCell], wanted: Iterable[RowKey]) -> set[RowKey]:
    """The rows the show plays, each with the row before and after it in the table, so the
    compact matrix shows the show's formats in context; every row when the show names none
    (a profile of plain MB/s streams)."""
    order = list(dict.fromkeys((cell.codec, cell.raster) for cell in cells))
    wanted = set(wanted)
    indices = [index for index, row in enumerate(order) if row in wanted]
    if not indices:
        return set(order)
    return {
        order[i] for index in indices for i in (index - 1, index, index + 1) if 0 <= i < len(order)
    }


def profile_rows(streams: Iterable[tuple[str | None, str | None]]) -> list[RowKey]:
    """The rows of a profile's streams that name a codec and a raster."""
    return list(
        dict.fromkeys(
            (codec, raster) for codec, raster in streams if codec is not None and raster is not None
        )
    )
