"""ABBA pairs and their paired ratios: how the bench compares two ways of measuring one drive
so that the machine's drift and any advantage of running second cancel."""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Measure = Callable[[], float]


def abba_first(pairs: int) -> list[bool]:
    """Whether A runs first in each pair: A B, B A, B A, A B, repeated. Within every four pairs
    each side runs first twice and a linear drift of the machine cancels."""
    return [index % 4 in (0, 3) for index in range(pairs)]


def abba_pairs(
    comparisons: Mapping[str, tuple[Measure, Measure]], pairs: int
) -> dict[str, tuple[list[float], list[float]]]:
    """Measure A and B of every comparison `pairs` times, in ABBA order; the comparisons take
    turns pair by pair, so they see the same state of the machine."""
    found: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in comparisons}
    for a_first in abba_first(pairs):
        for name, (measure_a, measure_b) in comparisons.items():
            a_values, b_values = found[name]
            if a_first:
                a_values.append(measure_a())
                b_values.append(measure_b())
            else:
                b_values.append(measure_b())
                a_values.append(measure_a())
    return found


@dataclass(frozen=True)
class PairedRatio:
    """A/B judged pair by pair: the median of the paired ratios, the interquartile range of
    the ratios and a bootstrap 95 % interval of their median."""

    a: tuple[float, ...]
    b: tuple[float, ...]
    ratios: tuple[float, ...]
    median: float
    quartiles: tuple[float, float]
    interval_95: tuple[float, float]

    def contains(self, value: float) -> bool:
        return self.interval_95[0] <= value <= self.interval_95[1]

    def reach(self) -> float:
        """How far from 1 the 95 % interval reaches: for an A/A control, the smallest
        difference this machine can tell from noise."""
        return max(1.0 - self.interval_95[0], self.interval_95[1] - 1.0)

    def summary(self, a_name: str, b_name: str) -> dict[str, Any]:
        return {
            f"{a_name}_mb_s": [round(value, 1) for value in self.a],
            f"{b_name}_mb_s": [round(value, 1) for value in self.b],
            "ratios": [round(value, 4) for value in self.ratios],
            "ratio": round(self.median, 4),
            "quartiles": [round(value, 4) for value in self.quartiles],
            "interval_95": [round(value, 4) for value in self.interval_95],
        }


def paired_ratio(
    a: Sequence[float], b: Sequence[float], *, resamples: int = 4000, seed: int = 1
) -> PairedRatio:
    """Summarise a / b over pairs measured together (see abba_pairs)."""
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(f"need at least two pairs of equal length, not {len(a)} and {len(b)}")
    ratios = tuple(x / y for x, y in zip(a, b, strict=True))
    lower, _, upper = statistics.quantiles(ratios, n=4, method="inclusive")
    rng = random.Random(seed)
    medians = sorted(
        statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(resamples)
    )
    interval = (medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1])
    return PairedRatio(
        a=tuple(a),
        b=tuple(b),
        ratios=ratios,
        median=statistics.median(ratios),
        quartiles=(lower, upper),
        interval_95=interval,
    )


def fidelity_verdict(ours: PairedRatio, control: PairedRatio, target: float) -> str:
    """Noise first: when raw fio against itself cannot be pinned within the target, no ratio
    against raw fio can be either, and a median inside the target would be luck."""
    if control.reach() > target:
        return "not resolvable here"
    if abs(ours.median - 1.0) <= target:
        return f"within {target * 100:g} %"
    return "MISSED"
