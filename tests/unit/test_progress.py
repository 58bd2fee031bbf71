"""Live progress: what a line says, and how often lines are written on a terminal and in a log,
with a fake clock and a sink that records what it was given."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from pytest_qlab.core.options import progress_interval
from pytest_qlab.core.progress import (
    LiveProgress,
    ProgressStatus,
    TerminalSink,
    default_interval_s,
    format_duration,
)


@dataclass
class FakeClock:
    now_s: float = 0.0

    def __call__(self) -> float:
        return self.now_s


@dataclass
class RecordingSink:
    tty: bool
    events: list[tuple[str, str]] = field(default_factory=list)

    def rewrite(self, text: str) -> None:
        self.events.append(("rewrite", text))

    def end_line(self) -> None:
        self.events.append(("end", ""))

    def line(self, text: str) -> None:
        self.events.append(("line", text))


def _status(elapsed_s: float, mb_s: float = 500.0) -> ProgressStatus:
    return ProgressStatus("sustained read [Show]", elapsed_s, 7200.0, mb_s_now=mb_s)


def test_a_line_says_phase_elapsed_remaining_rate_drops_and_temperature() -> None:
    status = ProgressStatus(
        "show pattern act-1 [Show]",
        elapsed_s=754.4,
        planned_s=3300.0,
        mb_s_now=1234.56,
        dropped_frames=0,
        temperature="41 °C",
    )

    assert status.line() == (
        "qlab show pattern act-1 [Show]: 12:34 of 55:00, 42:26 left, 1234.6 MB/s now, "
        "0 dropped frames, 41 °C"
    )


def test_unknown_figures_are_left_out_not_shown_as_zero() -> None:
    line = ProgressStatus("sustained write [Show]", 3725.0, 7200.0).line()

    assert line == "qlab sustained write [Show]: 1:02:05 of 2:00:00, 57:55 left"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0:00"), (59.6, "1:00"), (3599, "59:59"), (3600, "1:00:00"), (-3, "0:00")],
)
def test_durations_read_at_a_glance(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_a_log_gets_the_first_update_then_one_line_per_interval_and_the_final_state() -> None:
    clock = FakeClock()
    sink = RecordingSink(tty=False)
    progress = LiveProgress(sink, interval_s=60.0, clock=clock)

    for second in range(0, 181):  # one status document a second for three minutes
        clock.now_s = second
        progress.update(_status(second))
    progress.finish()

    lines = [text for kind, text in sink.events]
    assert all(kind == "line" for kind, _ in sink.events)
    assert [line.split(": ", 1)[1].split(" of")[0] for line in lines] == [
        "0:00",
        "1:00",
        "2:00",
        "3:00",
    ], "the 3:00 update is written by its interval; finish must not repeat it"


def test_a_log_ends_with_the_latest_update_even_between_intervals() -> None:
    clock = FakeClock()
    sink = RecordingSink(tty=False)
    progress = LiveProgress(sink, interval_s=60.0, clock=clock)
    for second in (0, 10, 20):
        clock.now_s = second
        progress.update(_status(second))

    progress.finish()

    assert [text.split(": ", 1)[1][:4] for _, text in sink.events] == ["0:00", "0:20"]


def test_finish_with_a_status_writes_it_once_and_later_updates_are_ignored() -> None:
    clock = FakeClock()
    sink = RecordingSink(tty=False)
    progress = LiveProgress(sink, interval_s=60.0, clock=clock)
    progress.update(_status(0))
    final = ProgressStatus("phase", 10, 10, mb_s_now=1.0, dropped_frames=3)

    progress.finish(final)
    progress.finish(_status(99))
    progress.update(_status(100))

    assert sink.events == [("line", _status(0).line()), ("line", final.line())]


def test_a_terminal_rewrites_one_line_at_most_twice_a_second_and_ends_it() -> None:
    clock = FakeClock()
    sink = RecordingSink(tty=True)
    progress = LiveProgress(sink, interval_s=60.0, clock=clock)

    for tenth in range(0, 31):  # updates every 0.1 s for 3 s
        clock.now_s = tenth / 10
        progress.update(_status(tenth / 10))
    progress.finish()

    kinds = [kind for kind, _ in sink.events]
    assert set(kinds[:-1]) == {"rewrite"}, "a terminal never gets a line per update"
    assert kinds[-1] == "end", "the in-place line is ended so pytest's output starts afresh"
    assert kinds.count("rewrite") == 7, "0.0, 0.5, ... 3.0 s: every TTY_REFRESH_S"
    assert sink.events[-2] == ("rewrite", _status(3.0).line())


def test_a_terminal_with_no_update_writes_nothing() -> None:
    sink = RecordingSink(tty=True)

    LiveProgress(sink, interval_s=60.0, clock=FakeClock()).finish()

    assert sink.events == []


@pytest.mark.parametrize("interval_s", [0.0, -1.0, float("nan"), float("inf")])
def test_an_interval_must_be_a_positive_number(interval_s: float) -> None:
    with pytest.raises(ValueError, match="positive number"):
        LiveProgress(RecordingSink(tty=False), interval_s=interval_s)


@pytest.mark.parametrize(
    ("time_scale", "interval_s"), [(1.0, 60.0), (0.5, 30.0), (0.01, 1.0), (0.005, 1.0)]
)
def test_the_default_interval_is_a_minute_compressed_never_below_a_second(
    time_scale: float, interval_s: float
) -> None:
    assert default_interval_s(time_scale) == interval_s


@pytest.mark.parametrize("text", ["1", "60", "2.5", "3600"])
def test_progress_interval_option_accepts_seconds_from_one(text: str) -> None:
    assert progress_interval(text) == float(text)


@pytest.mark.parametrize("text", ["0", "0.5", "-5", "abc", "", "nan", "inf"])
def test_progress_interval_option_rejects_what_is_not_seconds_from_one(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        progress_interval(text)

    message = str(caught.value)
    assert f"{text!r} is not a progress interval" in message
    assert "at least 1" in message


class FakeReporter:
    """The parts of pytest's TerminalReporter that TerminalSink uses."""

    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self.calls: list[tuple[str, str]] = []

    def isatty(self) -> bool:
        return self.tty

    def ensure_newline(self) -> None:
        self.calls.append(("ensure_newline", ""))

    def write(self, content: str, *, flush: bool = False, **markup: bool) -> None:
        if content:
            self.calls.append(("write", content))

    def write_line(self, line: str, **markup: bool) -> None:
        self.calls.append(("write_line", line))

    def rewrite(self, line: str, **markup: bool) -> None:
        assert markup == {"erase": True}
        self.calls.append(("rewrite", line))


class FakeCapture:
    def __init__(self, reporter: FakeReporter) -> None:
        self.reporter = reporter

    @contextlib.contextmanager
    def global_and_fixture_disabled(self) -> Iterator[None]:
        self.reporter.calls.append(("capture", "off"))
        yield
        self.reporter.calls.append(("capture", "on"))


def test_terminal_sink_writes_past_capture_and_leaves_the_test_name_line_alone() -> None:
    reporter = FakeReporter(tty=True)
    sink = TerminalSink(reporter, FakeCapture(reporter))

    sink.rewrite("one")
    sink.rewrite("two")
    sink.end_line()

    assert sink.tty
    assert reporter.calls == [
        ("capture", "off"),
        ("ensure_newline", ""),
        ("rewrite", "one"),
        ("capture", "on"),
        ("capture", "off"),
        ("rewrite", "two"),
        ("capture", "on"),
        ("capture", "off"),
        ("write", "\n"),
        ("capture", "on"),
    ]


def test_terminal_sink_in_a_log_writes_whole_lines() -> None:
    reporter = FakeReporter(tty=False)
    sink = TerminalSink(reporter, None)

    sink.line("qlab x")

    assert not sink.tty
    assert reporter.calls == [("write_line", "qlab x")]
