"""Show pattern (2.5 h at full scale): the show's phases back to back, as the drive will live
them on the night. Drives that pass a 30-second test fail here in the second act, when the
cache is full and the enclosure is hot."""

from __future__ import annotations

import pytest

from pytest_qlab.core.verdict import Rating
from pytest_qlab.modes.show_pattern import ShowPatternCheck
from pytest_qlab.plugin.fixtures import Gate, Measure, Record

pytestmark = pytest.mark.show_pattern


def test_phase(
    qlab_phase: str,
    qlab_show_pattern: ShowPatternCheck,
    qlab_measure: Measure,
    qlab_gate: Gate,
    qlab_record: Record,
) -> None:
    """Every frame of every stream, crossfades included, arrives before it is due, the phase
    reads what its streams need without a long slump, and the drive stays below its critical
    temperature."""
    result = qlab_measure(lambda: qlab_show_pattern.phase(qlab_phase))
    qlab_record(result)
    assert result.replay.frames_read > 0, f"phase {qlab_phase} read no frame at all"
    normal = result.failures(crossfades=False)
    qlab_gate(
        Rating.ACCEPTABLE,
        not normal,
        f"phase {qlab_phase}: {result.normal_dropped} frames dropped in normal playback "
        f"({Rating.ACCEPTABLE.label} needs none)\n" + "\n".join(normal),
    )
    qlab_gate(Rating.ACCEPTABLE, result.bandwidth_held, result.bandwidth_message())
    qlab_gate(Rating.ACCEPTABLE, not result.throttled, result.throttle_message())
    critical = result.critical_failure()
    assert critical is None, critical
    during_crossfades = result.failures(crossfades=True)
    qlab_gate(
        Rating.EXCELLENT,
        not during_crossfades,
        f"phase {qlab_phase}: {result.crossfade_dropped} frames dropped during crossfades "
        f"({Rating.EXCELLENT.label} needs none)\n" + "\n".join(during_crossfades),
    )
