"""Conservative when the evidence disagrees: a rating is a promise to a show, so where two
measurements of one run disagree beyond the drive's own measured variability, the bandwidth is
rated on the lower figure and the verdict says which figures disagree."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_qlab.core.proof import BandwidthFigure, CapacityFigure, Measurement

WINDOW_SPREAD_LIMIT = 0.25
"""A read whose windows lie further apart than this share of the fastest one is not steady:
its mean promises a bandwidth the drive gave only part of the time."""


@dataclass(frozen=True)
class Disagreement:
    """Two figures of one run that disagree, and the one the rating took."""

    measurement: Measurement
    """The bandwidth figure that was lowered."""
    against: Measurement
    """What it disagrees with: its own windows, or another measurement."""
    claimed_mb_s: float
    rated_mb_s: float
    sentence: str


def agreed_mb_s(
    figure: BandwidthFigure, capacity: CapacityFigure | None
) -> tuple[float, tuple[Disagreement, ...]]:
    """The bandwidth a figure may be rated on, and each disagreement that lowered it."""
    rated_mb_s = figure.mb_s
    found: list[Disagreement] = []
    spread = figure.spread
    unsteady = spread is not None and spread.fraction > WINDOW_SPREAD_LIMIT
    if spread is not None and unsteady and spread.lowest_mb_s < rated_mb_s:
        found.append(
            Disagreement(
                figure.measurement,
                figure.measurement,
                rated_mb_s,
                spread.lowest_mb_s,
                f"{figure.measurement.phrase} {rated_mb_s:.1f} MB/s is not steady: its "
                f"{spread.sentence()}, more than {WINDOW_SPREAD_LIMIT:.0%}; rated on its lowest "
                f"window, {spread.lowest_mb_s:.1f} MB/s",
            )
        )
        rated_mb_s = spread.lowest_mb_s
    floor_mb_s = rated_mb_s if spread is None else min(rated_mb_s, spread.lowest_mb_s)
    dropped_at = None if capacity is None else capacity.dropped_at_mb_s
    if capacity is not None and dropped_at is not None and dropped_at < floor_mb_s:
        # Beyond the read's own variability: even its slowest window claimed more than the
        # load the replays could not carry.
        found.append(
            Disagreement(
                figure.measurement,
                Measurement.CAPACITY,
                rated_mb_s,
                capacity.played_mb_s,
                f"{figure.measurement.phrase} {rated_mb_s:.1f} MB/s disagrees with the capacity "
                f"search: {capacity.max_streams + 1} x {capacity.stream} ({dropped_at:.1f} MB/s) "
                f"dropped frames, {capacity.max_streams} x {capacity.stream} "
                f"({capacity.played_mb_s:.1f} MB/s) played; rated on "
                f"{capacity.played_mb_s:.1f} MB/s",
            )
        )
        rated_mb_s = capacity.played_mb_s
    return rated_mb_s, tuple(found)
