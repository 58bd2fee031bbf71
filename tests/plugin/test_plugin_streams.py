"""--qlab-stream: a show described on the command line, without a profile file, from the header
and the JSON report of a collecting run to one real setup check with fio."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_qlab.core.stream_flags import profile_from_streams
from tests.plugin.conftest import SharedRun

UHD_HQ_AND_THREE_HD = ("--qlab-stream", "hq:3840x2160@29.97", "--qlab-stream", "3x422:1920x1080@25")
FLAGS_NAME = "from --qlab-stream: 1 x UHD ProRes 422 HQ 29.97 + 3 x HD ProRes 422 25"


def _refused(result: pytest.RunResult, report_dir: Path) -> str:
    """The one ERROR line of a run refused before it started; nothing measured or written."""
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    stderr = result.stderr.str()
    assert "Traceback" not in stderr + result.stdout.str()
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1, stderr
    assert not report_dir.exists(), "a refused run must not write reports"
    return errors[0]


def test_the_streams_are_the_show_in_the_header_and_the_json(
    run_qlab: Callable[..., pytest.RunResult],
    default_json: Callable[[], dict[str, Any]],
    volume: Path,
) -> None:
    result = run_qlab("--collect-only", "--volume", str(volume), *UHD_HQ_AND_THREE_HD)

    assert result.ret == pytest.ExitCode.OK, result.stderr.str()
    result.stdout.fnmatch_lines(
        [
            f"qlab profile: {FLAGS_NAME} (normal playback 156.1 MB/s, crossfade peak 312.3 MB/s)",
            "collect only: nothing was measured, no verdict",
        ]
    )
    qlab = default_json()["qlab"]
    profile = qlab["profile"]
    assert profile["name"] == FLAGS_NAME
    assert profile["normal_mb_s"] == pytest.approx(156.139, abs=0.001)
    assert profile["crossfade_duration_s"] == 5.0
    assert profile["streams"][0].startswith("1 x UHD ProRes 422 HQ 29.97: 884 Mb/s target")
    assert profile["streams"][1].startswith("3 x HD ProRes 422 25: 122 Mb/s target")
    assert [requirement["derivation"] for requirement in qlab["requirements"]] == [
        "normal playback of the --qlab-stream show: 1 x 110.4 + 3 x 15.2 MB/s = 156.1 MB/s",
        "crossfade peak of the --qlab-stream show: 1 x 110.4 + 3 x 15.2 + 1 x 110.4 + 3 x 15.2 "
        "MB/s = 312.3 MB/s",
    ]


def test_the_streams_win_over_the_ini_profile(
    qlab_pytester: pytest.Pytester,
    run_qlab: Callable[..., pytest.RunResult],
    default_json: Callable[[], dict[str, Any]],
) -> None:
    qlab_pytester.makeini("[pytest]\nqlab_profile = no-such-profile.toml\n")

    result = run_qlab("--collect-only", "--qlab-stream", "2x18.4MB/s@29.97")

    assert result.ret == pytest.ExitCode.OK, result.stderr.str()
    assert default_json()["qlab"]["profile"]["name"] == (
        "from --qlab-stream: 2 x 18.4 MB/s at 29.97 fps"
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "hqq:3840x2160@29.97",
            "ERROR: --qlab-stream 'hqq:3840x2160@29.97' is invalid: codec: Input should be "
            "'proxy', 'lt', '422', 'hq', '4444' or '4444xq'",
        ),
        (
            "hq:3840x2160@31",
            "ERROR: --qlab-stream 'hq:3840x2160@31' is invalid: fps 31 is not a ProRes frame "
            "rate in the table; use one of 23.976, 24, 25, 29.97, 30, 50, 59.94, 60",
        ),
        (
            "0x18.4MB/s@25",
            "ERROR: --qlab-stream '0x18.4MB/s@25' is invalid: count: Input should be greater "
            "than or equal to 1",
        ),
        (
            "garbage",
            "ERROR: --qlab-stream 'garbage' is invalid: it needs a rate and a frame rate; give "
            "[COUNTx]CODEC:WIDTHxHEIGHT@FPS (e.g. hq:3840x2160@29.97, 3x422:1920x1080@25) or "
            "[COUNTx]<rate>MB/s@FPS (e.g. 18.4MB/s@29.97, 2x18.4MB/s@29.97)",
        ),
    ],
    ids=["codec", "fps", "count", "garbage"],
)
def test_a_bad_spec_is_one_usage_error_line(
    run_qlab: Callable[..., pytest.RunResult], report_dir: Path, spec: str, message: str
) -> None:
    result = run_qlab(
        "--collect-only", "--qlab-stream", "3x422:1920x1080@25", "--qlab-stream", spec
    )

    assert _refused(result, report_dir) == message


def test_streams_and_a_profile_together_are_refused(
    run_qlab: Callable[..., pytest.RunResult], report_dir: Path
) -> None:
    result = run_qlab(
        "--collect-only", "--qlab-profile", "default", "--qlab-stream", "hq:3840x2160@29.97"
    )

    assert _refused(result, report_dir) == (
        "ERROR: --qlab-stream and --qlab-profile both describe the show: drop --qlab-profile "
        "to play the streams, or drop every --qlab-stream to play the profile"
    )


@pytest.mark.integration
def test_a_real_setup_check_plays_the_streams_of_the_flags(
    shared_setup_check: Callable[..., SharedRun],
) -> None:
    """Small streams, so that any disk carries them: the point is that the requirements and the
    replayed streams come from the flags, whatever the verdict."""
    specs = ("2x422:1280x720@25", "10MB/s@29.97")
    run = shared_setup_check(*(arg for spec in specs for arg in ("--qlab-stream", spec)))

    output = run.result.stdout.str() + run.result.stderr.str()
    assert "Traceback" not in output, output
    assert run.result.ret in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED), output
    expected = profile_from_streams(specs)
    qlab = run.report["qlab"]
    assert qlab["profile"]["name"] == (
        "from --qlab-stream: 2 x 720p ProRes 422 25 + 1 x 10 MB/s at 29.97 fps"
    )
    assert qlab["profile"]["derivation"] == expected.derivation_lines()
    normal, crossfade = qlab["requirements"]
    assert normal["derivation"] == (
        "normal playback of the --qlab-stream show: 2 x 7.6 + 1 x 10.0 MB/s = 25.2 MB/s"
    )
    assert normal["required_mb_s"] == pytest.approx(expected.normal_mb_s)
    assert crossfade["required_mb_s"] == pytest.approx(expected.crossfade_mb_s)
    metadata = {
        test["nodeid"].rsplit("::", 1)[-1].split("[", 1)[0]: test["metadata"]
        for test in run.report["tests"]
    }
    replayed = [
        (stream["stream"].split(" #", 1)[0], stream["fps"], stream["frame_bytes"])
        for stream in metadata["test_normal_playback"]["per_stream"]
    ]
    seven_twenty, ten_mb_s = expected.streams
    assert replayed == [
        ("720p ProRes 422 25", 25.0, seven_twenty.frame_bytes),
        ("720p ProRes 422 25", 25.0, seven_twenty.frame_bytes),
        ("10 MB/s at 29.97 fps", 29.97, ten_mb_s.frame_bytes),
    ]
    assert metadata["test_crossfade_playback"]["streams"] == 6
