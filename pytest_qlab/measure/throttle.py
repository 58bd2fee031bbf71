"""Throttling: throughput that stays well below the run's early baseline for a long time.

Pure functions on throughput windows, so the verdict is tested on synthetic and recorded series
and applies to any measurement that yields windows. A drive that throttles (SLC cache full,
enclosure hot) keeps going, only slower: an average hides it, windows against a baseline do not.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from pytest_qlab.core.proof import WindowSpread
from pytest_qlab.core.units import BYTES_PER_MB

DEFAULT_DROP_FRACTION = 0.20
DURATION_TOLERANCE = 0.02
"""Windows end on fio's status documents, a few ms off the second: three 10 s windows are a
30 s drop even when they add up to 29.99 s."""
START_TOLERANCE_S = 0.05

_MODEL = ConfigDict(frozen=True, extra="forbid")


class ThroughputWindow(BaseModel):
    """Bytes moved between two status documents, `start_s`/`end_s` seconds into the job."""

    model_config = _MODEL

    start_s: float = Field(ge=0)
    end_s: float
    io_bytes: int = Field(ge=0)
    mb_s: float = Field(ge=0)

    @model_validator(mode="after")
    def _positive_length(self) -> ThroughputWindow:
        if self.end_s <= self.start_s:
            raise ValueError(f"a window must end after it starts ({self.start_s}-{self.end_s} s)")
        return self

    @classmethod
    def between(cls, start_s: float, end_s: float, io_bytes: int) -> ThroughputWindow:
        return cls(
            start_s=start_s,
            end_s=end_s,
            io_bytes=io_bytes,
            mb_s=io_bytes / (end_s - start_s) / BYTES_PER_MB if end_s > start_s else 0.0,
        )

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def metadata(self) -> dict[str, JsonValue]:
        return {
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "mb_s": round(self.mb_s, 3),
        }


class ThrottleSettings(BaseModel):
    """What counts as throttling; durations in seconds of the run as it is executed (scaled)."""

    model_config = _MODEL

    warmup_s: float = Field(ge=0)
    """Ignored at the start: queues filling, caches, fio starting up."""
    baseline_s: float = Field(gt=0)
    """The period after the warm-up whose mean throughput is the baseline."""
    drop_fraction: float = Field(default=DEFAULT_DROP_FRACTION, gt=0, lt=1)
    """Throughput more than this fraction below the baseline is a drop."""
    min_duration_s: float = Field(gt=0)
    """A drop lasting at least this long is throttling; shorter ones are brief dips."""


class ThrottleEpisode(BaseModel):
    """Contiguous windows below the threshold."""

    model_config = _MODEL

    start_s: float
    end_s: float
    lowest_mb_s: float
    mean_mb_s: float
    recovered: bool
    """Throughput came back above the threshold before the run ended."""

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def metadata(self) -> dict[str, JsonValue]:
        return {
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "lowest_mb_s": round(self.lowest_mb_s, 3),
            "mean_mb_s": round(self.mean_mb_s, 3),
            "recovered": self.recovered,
        }


class ThrottleAnalysis(BaseModel):
    """The verdict on one series of windows; `baseline_mb_s` is None when it could not be judged."""

    model_config = _MODEL

    settings: ThrottleSettings
    baseline_mb_s: float | None
    threshold_mb_s: float | None
    episodes: tuple[ThrottleEpisode, ...] = ()
    brief_dips: tuple[ThrottleEpisode, ...] = ()
    not_judged_because: str | None = None

    @property
    def judged(self) -> bool:
        return self.baseline_mb_s is not None

    @property
    def throttled(self) -> bool:
        return bool(self.episodes)

    @property
    def throttled_s(self) -> float:
        return sum(episode.duration_s for episode in self.episodes)

    def sentence(self) -> str:
        """One sentence for the assertion message and the report."""
        settings = self.settings
        percent = f"{settings.drop_fraction * 100:.0f} %"
        if self.baseline_mb_s is None:
            return f"throttling not judged: {self.not_judged_because}"
        baseline = f"the {self.baseline_mb_s:.1f} MB/s baseline"
        if not self.episodes:
            text = (
                f"no throttling: throughput never stayed more than {percent} below {baseline} "
                f"for {settings.min_duration_s:g} s or longer"
            )
            if self.brief_dips:
                longest = max(dip.duration_s for dip in self.brief_dips)
                text += f" ({len(self.brief_dips)} brief dip(s), the longest {longest:.1f} s)"
            return text
        first = self.episodes[0]
        below = 1 - first.lowest_mb_s / self.baseline_mb_s
        text = (
            f"throttling: throughput fell more than {percent} below {baseline} "
            f"from {first.start_s:.0f} s to {first.end_s:.0f} s into the run "
            f"(lowest {first.lowest_mb_s:.1f} MB/s, {below * 100:.0f} % below)"
            + (", then recovered" if first.recovered else " and did not recover")
        )
        if len(self.episodes) > 1:
            text += (
                f"; {len(self.episodes)} episodes, {self.throttled_s:.0f} s throttled in all, "
                f"lowest {min(e.lowest_mb_s for e in self.episodes):.1f} MB/s"
            )
        return text

    def metadata(self) -> dict[str, JsonValue]:
        settings = self.settings
        return {
            "baseline_mb_s": None if self.baseline_mb_s is None else round(self.baseline_mb_s, 3),
            "throttle_threshold_mb_s": (
                None if self.threshold_mb_s is None else round(self.threshold_mb_s, 3)
            ),
            "throttle_drop_fraction": settings.drop_fraction,
            "throttle_min_duration_s": round(settings.min_duration_s, 3),
            "warmup_s": round(settings.warmup_s, 3),
            "baseline_period_s": round(settings.baseline_s, 3),
            "throttled": self.throttled,
            "throttled_s": round(self.throttled_s, 3),
            "throttle_episodes": [episode.metadata() for episode in self.episodes],
            "throttle_brief_dips": len(self.brief_dips),
            "throttle_summary": self.sentence(),
        }


def thin_windows(windows: Sequence[ThroughputWindow], max_points: int) -> list[ThroughputWindow]:
    """Every k-th window, the last always kept: a two-hour series stays plot-sized in reports
    (the verdict is taken on all windows, never on these)."""
    if len(windows) <= max_points:
        return list(windows)
    stride = -(-len(windows) // max_points)
    kept = list(windows[::stride])
    if kept[-1] is not windows[-1]:
        kept[-1] = windows[-1]
    return kept


def after_warmup(
    windows: Sequence[ThroughputWindow], warmup_s: float
) -> tuple[ThroughputWindow, ...]:
    """The windows that start once the warm-up is over: the ones that count."""
    return tuple(window for window in windows if window.start_s >= warmup_s - START_TOLERANCE_S)


def lowest_window(
    windows: Sequence[ThroughputWindow], warmup_s: float = 0.0
) -> ThroughputWindow | None:
    counted = after_warmup(windows, warmup_s)
    return min(counted, key=lambda window: window.mb_s) if counted else None


def window_spread(windows: Sequence[ThroughputWindow], window_s: float) -> WindowSpread | None:
    """The lowest and highest of `windows`; None with fewer than two, which show no spread."""
    if len(windows) < 2:
        return None
    rates = [window.mb_s for window in windows]
    return WindowSpread(
        window_s=window_s, count=len(rates), lowest_mb_s=min(rates), highest_mb_s=max(rates)
    )


def mean_mb_s(windows: Sequence[ThroughputWindow]) -> float:
    """Time-weighted: total bytes over total time, so a longer window weighs more."""
    duration_s = sum(window.duration_s for window in windows)
    return sum(window.io_bytes for window in windows) / duration_s / BYTES_PER_MB


def detect_throttling(
    windows: Sequence[ThroughputWindow],
    settings: ThrottleSettings,
    *,
    baseline_mb_s: float | None = None,
) -> ThrottleAnalysis:
    """Baseline = mean of the windows in the baseline period after the warm-up; throttling =
    contiguous windows more than `drop_fraction` below it lasting at least `min_duration_s`.

    The baseline is the early period, not the whole run: a drive that throttles for most of
    two hours would otherwise drag its own baseline down and hide the drop. A rate-limited
    workload (a show-pattern phase) passes the rate it asks for as `baseline_mb_s` instead.
    """
    counted = after_warmup(windows, settings.warmup_s)
    if baseline_mb_s is not None:
        return _drops_below(counted, settings, baseline_mb_s)
    baseline_end_s = settings.warmup_s + settings.baseline_s
    baseline_windows = [w for w in counted if w.start_s < baseline_end_s - START_TOLERANCE_S]
    covered_s = baseline_windows[-1].end_s if baseline_windows else settings.warmup_s
    if not baseline_windows or covered_s < baseline_end_s * (1 - DURATION_TOLERANCE):
        measured_s = max((window.end_s for window in windows), default=0.0)
        return ThrottleAnalysis(
            settings=settings,
            baseline_mb_s=None,
            threshold_mb_s=None,
            not_judged_because=(
                f"the run measured {measured_s:.1f} s; a {settings.warmup_s:g} s warm-up and a "
                f"{settings.baseline_s:g} s baseline need {baseline_end_s:g} s"
            ),
        )
    early_mb_s = mean_mb_s(baseline_windows)
    if early_mb_s <= 0:
        return ThrottleAnalysis(
            settings=settings,
            baseline_mb_s=None,
            threshold_mb_s=None,
            not_judged_because="no data moved during the baseline period",
        )
    return _drops_below(counted, settings, early_mb_s)


def _drops_below(
    counted: Sequence[ThroughputWindow], settings: ThrottleSettings, baseline_mb_s: float
) -> ThrottleAnalysis:
    threshold_mb_s = baseline_mb_s * (1 - settings.drop_fraction)
    episodes: list[ThrottleEpisode] = []
    dips: list[ThrottleEpisode] = []
    run: list[ThroughputWindow] = []
    for index, window in enumerate((*counted, None)):
        if window is not None and window.mb_s < threshold_mb_s:
            run.append(window)
            continue
        if run:
            drop = ThrottleEpisode(
                start_s=run[0].start_s,
                end_s=run[-1].end_s,
                lowest_mb_s=min(low.mb_s for low in run),
                mean_mb_s=mean_mb_s(run),
                recovered=index < len(counted),
            )
            long_enough = drop.duration_s >= settings.min_duration_s * (1 - DURATION_TOLERANCE)
            (episodes if long_enough else dips).append(drop)
            run = []
    return ThrottleAnalysis(
        settings=settings,
        baseline_mb_s=baseline_mb_s,
        threshold_mb_s=threshold_mb_s,
        episodes=tuple(episodes),
        brief_dips=tuple(dips),
    )
