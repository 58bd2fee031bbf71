"""The "Will it work?" matrix: for every ProRes flavour, raster and frame rate, how many
simultaneous streams the measured drive carries; replayed cells are marked verified."""

from __future__ import annotations

import math
from collections.abc import Mapping

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
