"""verdict.rate on Evidence: a level needs its read bandwidth and its streams played without a
drop, each proven by any mode's measurement and disproved by none; a level nothing measured is
NOT RATED, never INSUFFICIENT, with the run that adds the proof."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import Enum

import pytest

from pytest_qlab.core.modes import INTEGRITY, SETUP_CHECK, SHOW_PATTERN, SUSTAINED, Mode
from pytest_qlab.core.profiles import DEFAULT_PROFILE
from pytest_qlab.core.proof import (
    BandwidthFigure,
    CapacityFigure,
    Finding,
    Measurement,
    Outcome,
    Playback,
)
from pytest_qlab.core.verdict import Evidence, Rating, RequirementKey, Status, rate

REQUIREMENTS = DEFAULT_PROFILE.requirements()
NORMAL = RequirementKey.NORMAL_PLAYBACK
CROSSFADE = RequirementKey.CROSSFADE_PEAK


class Run(Enum):
    ABSENT = "absent"
    PASSED = "passed"
    FAILED = "failed"


@dataclass
class Built:
    bandwidth: list[BandwidthFigure]
    playback: dict[RequirementKey, list[Playback]]
    modes: set[Mode]

    def add(self, key: RequirementKey, played: Playback) -> None:
        self.playback.setdefault(key, []).append(played)

    def evidence(self) -> Evidence:
        return Evidence(
            bandwidth=tuple(self.bandwidth),
            playback={key: tuple(items) for key, items in self.playback.items()},
            modes=frozenset(self.modes),
        )


def _build(setup: Run, show: Run, sustained: Run, media: Run) -> Evidence:
    """Each mode's evidence as it measures it. A failed mode fails normal playback (Acceptable):
    the setup check's replay drops frames, a show phase drops frames, the sustained read's
    lowest window misses 656 MB/s, a media file drops frames."""
    built = Built([], {}, set())
    if setup is not Run.ABSENT:
        built.modes.add(SETUP_CHECK)
        built.bandwidth.append(BandwidthFigure(Measurement.SEQUENTIAL_READ, 5000.0))
        dropped = 7 if setup is Run.FAILED else 0
        built.add(NORMAL, Playback(Measurement.NORMAL_REPLAY, 600, dropped))
        built.add(CROSSFADE, Playback(Measurement.CROSSFADE_REPLAY, 300, 0))
    if show is not Run.ABSENT:
        built.modes.add(SHOW_PATTERN)
        dropped = 4 if show is Run.FAILED else 0
        built.add(NORMAL, Playback(Measurement.SHOW_PATTERN, 9000, dropped, "in 5 phases"))
        built.add(CROSSFADE, Playback(Measurement.SHOW_CROSSFADES, 900, 0, "in 3 crossfades"))
    if sustained is not Run.ABSENT:
        built.modes.add(SUSTAINED)
        lowest = 600.0 if sustained is Run.FAILED else 4000.0
        built.bandwidth.append(BandwidthFigure(Measurement.SUSTAINED_READ, lowest))
    if media is not Run.ABSENT:
        built.modes.add(SETUP_CHECK)  # the media items belong to the setup check
        dropped = 3 if media is Run.FAILED else 0
        short_of = "it plays the show's files, not the profile's streams"
        built.add(NORMAL, Playback(Measurement.MEDIA_PLAYBACK, 200, dropped, short_of=short_of))
        built.add(CROSSFADE, Playback(Measurement.MEDIA_CROSSFADE, 100, 0, short_of=short_of))
    return built.evidence()


def _expected(setup: Run, show: Run, sustained: Run, media: Run) -> tuple[Rating | None, bool]:
    """The rule, stated independently: (rating shown, None for NOT RATED; whether a level was
    left unproven)."""
    runs = (setup, show, sustained, media)
    if Run.FAILED in runs:
        return Rating.INSUFFICIENT, False
    bandwidth = Run.PASSED in (setup, sustained)
    normal = Run.PASSED in (setup, show)
    crossfades = Run.PASSED in (setup, show)
    if not (bandwidth and normal):
        return None, True
    if not crossfades:
        return Rating.ACCEPTABLE, True
    return Rating.EXCELLENT, False


COMBINATIONS = list(itertools.product(Run, repeat=4))


@pytest.mark.parametrize(
    ("setup", "show", "sustained", "media"),
    COMBINATIONS,
    ids=[
        "-".join(f"{mode}:{run.value}" for mode, run in zip("SPXM", combo, strict=True))
        for combo in COMBINATIONS
    ],
)
def test_every_combination_of_modes_rates_on_the_evidence_it_produced(
    setup: Run, show: Run, sustained: Run, media: Run
) -> None:
    decision = rate(_build(setup, show, sustained, media), REQUIREMENTS)
    rating, unproven = _expected(setup, show, sustained, media)

    assert decision.rated is rating, decision.reasons
    assert (decision.not_rated is not None) is unproven, decision.reasons
    if rating is Rating.INSUFFICIENT:
        assert any("dropped" in r or "below" in r for r in decision.reasons), decision.reasons
    if unproven:
        (line,) = [reason for reason in decision.reasons if "NOT RATED" in reason]
        assert "add the setup check" in line or "run the setup check's" in line, line


def test_nothing_measured_at_all_is_not_rated_with_the_setup_check_to_add() -> None:
    decision = rate(_build(Run.ABSENT, Run.ABSENT, Run.ABSENT, Run.ABSENT), REQUIREMENTS)

    assert decision.rated is None
    assert decision.not_rated is Rating.ACCEPTABLE
    assert decision.reasons[-1].endswith('add the setup check: pytest suites/ -m "setup_check"')
    assert all(verdict.status is Status.NOT_RATED for verdict in decision.requirements)


def test_show_pattern_and_sustained_read_prove_every_level_and_name_their_measurements() -> None:
    decision = rate(_build(Run.ABSENT, Run.PASSED, Run.PASSED, Run.ABSENT), REQUIREMENTS)

    assert decision.rated is Rating.EXCELLENT
    assert (
        "Acceptable: normal playback proven by the sustained read (lowest window) at 4000.0 MB/s "
        "and the show pattern outside crossfades with 0 of 9000 frames dropped"
    ) in decision.reasons
    assert (
        "Excellent: crossfade peaks proven by the sustained read (lowest window) at 4000.0 MB/s "
        "and the show pattern crossfades with 0 of 900 frames dropped"
    ) in decision.reasons
    assert not any("not measured" in reason for reason in decision.reasons)


def test_sustained_alone_says_to_add_the_setup_check_with_the_modes_that_ran() -> None:
    decision = rate(_build(Run.ABSENT, Run.ABSENT, Run.PASSED, Run.ABSENT), REQUIREMENTS)

    assert decision.rated is None
    assert decision.reasons[-1] == (
        "Acceptable NOT RATED: nothing measured the normal set played frame by frame; add the "
        'setup check: pytest suites/ -m "setup_check or sustained"'
    )


def test_a_setup_check_missing_an_item_names_the_item() -> None:
    """The setup check ran (sequential read only, e.g. -k): the hint names its replay."""
    evidence = Evidence(
        bandwidth=(BandwidthFigure(Measurement.SEQUENTIAL_READ, 3000.0),),
        modes=frozenset({SETUP_CHECK, INTEGRITY}),
    )

    decision = rate(evidence, REQUIREMENTS)

    assert decision.reasons[-1] == (
        "Acceptable NOT RATED: nothing measured the normal set played frame by frame; run the "
        "setup check's test_normal_playback too (this run left it out)"
    )


@pytest.mark.parametrize(
    ("modes", "cut"),
    [
        (frozenset({SETUP_CHECK}), "test_crossfade_playback"),
        (frozenset({SHOW_PATTERN, SUSTAINED}), "it"),
    ],
    ids=["setup-check", "long-modes"],
)
def test_an_interrupted_run_is_told_to_run_again_not_that_it_left_the_item_out(
    modes: frozenset[Mode], cut: str
) -> None:
    """Ctrl-C during the crossfade replay: nothing was left out, the run was cut short."""
    evidence = Evidence(
        bandwidth=(BandwidthFigure(Measurement.SEQUENTIAL_READ, 3000.0),),
        playback={NORMAL: (Playback(Measurement.NORMAL_REPLAY, 100, 0, ""),)},
        modes=modes,
        interrupted=True,
    )

    decision = rate(evidence, REQUIREMENTS)

    assert decision.rated is Rating.ACCEPTABLE
    assert decision.reasons[-1] == (
        "Excellent NOT RATED: nothing measured crossfades played frame by frame; the run was "
        f"interrupted before {cut} finished: run it again to its end"
    )


def test_a_partial_show_pattern_supports_but_does_not_prove() -> None:
    partial = Playback(
        Measurement.SHOW_PATTERN, 900, 0, "in 1 phases", short_of="1 of the show's 5 phases"
    )
    evidence = Evidence(
        bandwidth=(BandwidthFigure(Measurement.SUSTAINED_READ, 3000.0),),
        playback={NORMAL: (partial,)},
        modes=frozenset({SHOW_PATTERN, SUSTAINED}),
    )

    decision = rate(evidence, REQUIREMENTS)

    assert decision.rated is None
    (normal, _) = decision.requirements
    (played,) = [proof for proof in normal.proofs if proof.measurement is Measurement.SHOW_PATTERN]
    assert played.outcome is Outcome.SUPPORTED
    assert "not a proof on its own: 1 of the show's 5 phases" in played.sentence


def test_a_partial_show_pattern_that_drops_frames_still_fails() -> None:
    partial = Playback(
        Measurement.SHOW_PATTERN, 900, 5, short_of="1 of 5 phases", failures=("act-1: 5",)
    )
    evidence = Evidence(playback={NORMAL: (partial,)}, modes=frozenset({SHOW_PATTERN}))

    decision = rate(evidence, REQUIREMENTS)

    assert decision.rated is Rating.INSUFFICIENT
    assert decision.not_rated is None
    assert (
        "show pattern outside crossfades dropped 5 frames (Acceptable needs none): act-1: 5"
        in decision.reasons
    )


def test_a_failing_measurement_fails_even_when_another_proves() -> None:
    """Conservative: the setup check's clean replay does not outvote the show's drops."""
    decision = rate(_build(Run.PASSED, Run.FAILED, Run.ABSENT, Run.ABSENT), REQUIREMENTS)

    assert decision.rated is Rating.INSUFFICIENT
    assert decision.reasons[-1] == (
        "Acceptable missed: normal playback disproved by the show pattern outside crossfades "
        "with 4 of 9000 frames dropped"
    )


def test_a_crossfade_drop_fails_excellent_only() -> None:
    evidence = _build(Run.PASSED, Run.ABSENT, Run.ABSENT, Run.ABSENT)
    playback = dict(evidence.playback)
    playback[CROSSFADE] = (Playback(Measurement.SHOW_CROSSFADES, 500, 2),)

    decision = rate(Evidence(evidence.bandwidth, playback, modes=evidence.modes), REQUIREMENTS)

    assert decision.rated is Rating.ACCEPTABLE
    assert decision.not_rated is None
    assert "show pattern crossfades dropped 2 frames (Excellent needs none)" in decision.reasons


@pytest.mark.parametrize(
    ("max_streams", "needed", "blocks", "played"),
    [
        (0, 1, True, "cannot play a single 8K stream"),
        (1, 2, True, "plays only 1 x 8K"),
        (2, 2, False, "plays only 2 x 8K"),
        (32, 2, False, "plays only 32 x 8K"),
    ],
)
def test_too_few_streams_in_the_capacity_search_block_acceptable(
    max_streams: int, needed: int, blocks: bool, played: str
) -> None:
    evidence = _build(Run.PASSED, Run.ABSENT, Run.ABSENT, Run.ABSENT)
    # Streams heavy enough that one more than the search played exceeds the 5000 MB/s read:
    # the figures agree.
    capacity = CapacityFigure(max_streams, needed, 32, "8K", stream_mb_s=2000.0)

    decision = rate(
        Evidence(evidence.bandwidth, evidence.playback, capacity, modes=evidence.modes),
        REQUIREMENTS,
    )

    assert (decision.rated is Rating.INSUFFICIENT) is blocks, decision.reasons
    text = f"capacity search: {played} without drops; the show plays {needed}"
    assert (text in decision.reasons) is blocks
    summary = f"the capacity search with {max_streams} of the {needed} streams without drops"
    assert decision.reasons[-1].endswith(summary) is blocks, decision.reasons


def test_a_long_run_finding_breaks_the_requirement_it_names() -> None:
    evidence = _build(Run.PASSED, Run.ABSENT, Run.ABSENT, Run.ABSENT)
    finding = Finding(Measurement.SUSTAINED_READ, "sustained read: throttling: fell 40 %")

    decision = rate(
        Evidence(
            evidence.bandwidth,
            evidence.playback,
            findings={NORMAL: (finding,)},
            modes=evidence.modes,
        ),
        REQUIREMENTS,
    )

    assert decision.rated is Rating.INSUFFICIENT
    assert finding.sentence in decision.reasons


@pytest.mark.parametrize(
    ("lowest_mb_s", "expected"),
    [(655.0, Rating.INSUFFICIENT), (700.0, Rating.ACCEPTABLE), (2100.0, Rating.EXCELLENT)],
)
def test_the_lowest_sustained_window_must_carry_each_level(
    lowest_mb_s: float, expected: Rating
) -> None:
    evidence = _build(Run.PASSED, Run.ABSENT, Run.ABSENT, Run.ABSENT)
    sustained = BandwidthFigure(Measurement.SUSTAINED_READ, lowest_mb_s)

    decision = rate(
        Evidence((*evidence.bandwidth, sustained), evidence.playback, modes=evidence.modes),
        REQUIREMENTS,
    )

    assert decision.rated is expected
    assert any(reason.startswith("sustained read (lowest window)") for reason in decision.reasons)


def test_every_requirement_is_judged_for_the_json_even_past_a_missed_level() -> None:
    decision = rate(_build(Run.FAILED, Run.ABSENT, Run.ABSENT, Run.ABSENT), REQUIREMENTS)

    normal, crossfade = decision.requirements
    assert normal.status is Status.DISPROVED
    assert crossfade.status is Status.PROVED
    assert not any("Excellent" in reason for reason in decision.reasons)


def test_the_summary_names_each_disproving_measurement_once() -> None:
    dropped = Playback(Measurement.SHOW_PATTERN, 500, 26)
    slump = Finding(Measurement.SHOW_PATTERN, "phase act-1 read 34.9 MB/s on average")
    evidence = Evidence(playback={NORMAL: (dropped,)}, findings={NORMAL: (slump,)})

    decision = rate(evidence, REQUIREMENTS)

    assert decision.reasons[-1] == (
        "Acceptable missed: normal playback disproved by the show pattern outside crossfades "
        "with 26 of 500 frames dropped"
    )
