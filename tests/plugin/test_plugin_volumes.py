"""Which volumes a run tests: refused targets, fio binaries and profiles, the default system disk,
several volumes in turn."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FULL_SCALE_FREE_BYTES = 12 * 1024**3
"""Comfortably more than a full-scale setup check's test files plus the free-space margin."""

REFUSALS = [
    "missing-path",
    "regular-file",
    "dev-null",
    "inside-scratch",
    "given-twice",
    "given-twice-spelled-differently",
    "empty-path",
    "fio-missing",
    "fio-not-fio",
    "qlab-fio-env-missing",
    "profile-missing",
    "profile-not-toml",
]


def _refused_run(
    case: str, root: Path, volume: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[str], list[str]]:
    """The arguments of a run that must be refused, and what its error must say."""
    match case:
        case "missing-path":
            return ["--volume", str(root / "not-mounted")], [
                "does not exist",
                "check that the drive is mounted",
            ]
        case "regular-file":
            media = root / "show.mov"
            media.write_bytes(b"\0" * 1024)
            return ["--volume", str(media)], ["is a file, not a folder", "pass the drive's mount"]
        case "dev-null":
            return ["--volume", "/dev/null"], ["is a device", "pass the folder the drive is"]
        case "inside-scratch":
            old_run = volume / ".pytest-qlab" / "20260101-120000-1-abcd"
            old_run.mkdir(parents=True)
            return ["--volume", str(old_run)], [
                "inside pytest-qlab's own scratch folder",
                "pass the volume itself",
            ]
        case "given-twice":
            return ["--volume", str(volume), "--volume", str(volume)], [
                "given twice",
                "give each volume once",
            ]
        case "given-twice-spelled-differently":
            other_spelling = f"{volume}/../{volume.name}/"
            return ["--volume", str(volume), "--volume", other_spelling], [
                f"volume {volume} was given twice",
                "give each volume once",
            ]
        case "empty-path":
            return ["--volume", ""], ["argument --volume: an empty path was given"]
        case "fio-missing":
            return ["--volume", str(volume), "--fio", str(root / "no-such-fio")], [
                "fio from --fio does not exist",
                "check the path given",
            ]
        case "fio-not-fio":
            script = root / "fake-fio"
            script.write_text("#!/bin/sh\necho 'hello, I am not fio'\n", encoding="utf-8")
            script.chmod(0o755)
            return ["--volume", str(volume), "--fio", str(script)], [
                "is not fio",
                "hello, I am not fio",
                "pass --fio PATH",
            ]
        case "qlab-fio-env-missing":
            monkeypatch.setenv("QLAB_FIO", str(root / "no-such-fio"))
            return ["--volume", str(volume)], [
                "fio from $QLAB_FIO does not exist",
                "fix or unset $QLAB_FIO",
            ]
        case "profile-missing":
            return ["--volume", str(volume), "--qlab-profile", str(root / "no-show.toml")], [
                "is neither a file nor a built-in profile",
                "default",
            ]
        case "profile-not-toml":
            profile = root / "show.toml"
            profile.write_text("streams = [\n", encoding="utf-8")
            return ["--volume", str(volume), "--qlab-profile", str(profile)], ["is not valid TOML"]
    raise AssertionError(f"unknown case {case}")


@pytest.mark.parametrize("case", REFUSALS)
def test_refused_volume_fio_or_profile_is_a_usage_error_saying_what_to_do(
    qlab_pytester: pytest.Pytester,
    run_qlab: Callable[..., pytest.RunResult],
    volume: Path,
    system_temp: Path,
    report_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
) -> None:
    args, explanation = _refused_run(case, qlab_pytester.path, volume, monkeypatch)
    volume_before = sorted(volume.rglob("*"))

    result = run_qlab(*args)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    stderr = result.stderr.str()
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1, stderr
    for phrase in explanation:
        assert phrase in stderr, f"the error does not say {phrase!r}:\n{stderr}"
    assert "Traceback" not in stderr + result.stdout.str()
    assert "INTERNALERROR" not in stderr + result.stdout.str()
    assert sorted(volume.rglob("*")) == volume_before, "a refused run wrote to the volume"
    assert not list(system_temp.iterdir()), "a refused run wrote to the system temp folder"
    if case != "inside-scratch":
        assert not list(qlab_pytester.path.rglob(".pytest-qlab"))
    assert not report_dir.exists(), "a refused run must not write reports"


def _header(result: pytest.RunResult) -> list[str]:
    lines = result.stdout.lines
    end = next(index for index, line in enumerate(lines) if line.startswith("collect"))
    return lines[:end]


def _verdict_section(result: pytest.RunResult) -> list[str]:
    lines = result.stdout.lines
    start = next(index for index, line in enumerate(lines) if "pytest-qlab verdict" in line)
    return lines[start:]


@pytest.mark.integration
def test_without_volume_the_system_disk_is_tested_and_said_loudly(
    run_qlab: Callable[..., pytest.RunResult],
    default_json: Callable[[], dict[str, Any]],
    system_temp: Path,
) -> None:
    result = run_qlab("-k", "write")

    header = _header(result)
    assert [
        line for line in header if line.startswith(f"qlab volume system-temp: {system_temp} on ")
    ]
    assert "!" * 78 in header
    warnings = [line for line in header if "SYSTEM DISK" in line]
    assert warnings, "\n".join(header)
    assert all(line.startswith("!!! NO --volume GIVEN") for line in warnings)
    assert [line for line in header if line.startswith("!!! REHEARSAL (time scale 0.02)")]
    verdict = _verdict_section(result)
    assert [line for line in verdict if line.startswith("REHEARSAL (time scale 0.02)")]
    assert [line for line in verdict if line.startswith("NO --volume GIVEN")]
    assert [line for line in verdict if re.match(r"system-temp: .* - SYSTEM DISK$", line)]
    (record,) = default_json()["qlab"]["volumes"]
    assert record["system_default"] is True
    assert record["path"] == str(system_temp)
    assert record["name"] == "system-temp"


@pytest.mark.parametrize(("scale", "rehearsal"), [("0.02", True), ("1", False)])
def test_a_given_volume_is_named_and_the_system_disk_warning_is_gone(
    run_qlab: Callable[..., pytest.RunResult],
    default_json: Callable[[], dict[str, Any]],
    volume: Path,
    scale: str,
    rehearsal: bool,
) -> None:
    if not rehearsal and shutil.disk_usage(volume).free < FULL_SCALE_FREE_BYTES:
        pytest.skip("a full-scale run refuses a volume without room for its test files")
    # Collection only: the header, summary and JSON are written without measuring.
    result = run_qlab("--collect-only", "--volume", str(volume), "--qlab-time-scale", scale)

    assert result.ret == pytest.ExitCode.OK
    header = _header(result)
    assert [
        line for line in header if line.startswith("qlab volume ") and f": {volume} on " in line
    ]
    output = result.stdout.str()
    assert "SYSTEM DISK" not in output
    assert "NO --volume GIVEN" not in output
    assert any("REHEARSAL" in line for line in header) is rehearsal
    assert any("REHEARSAL" in line for line in _verdict_section(result)) is rehearsal
    qlab = default_json()["qlab"]
    assert qlab["rehearsal"] is rehearsal
    (record,) = qlab["volumes"]
    assert record["system_default"] is False
    assert record["path"] == str(volume)
    assert record["requested_path"] == str(volume)


_ITEM_LINE = re.compile(r"^test_setup_check\.py::(\S+) (PASSED|FAILED|XFAIL|XPASS|SKIPPED|ERROR)")
_LEVEL_SUFFIX = re.compile(r"-(acceptable|excellent)$")


def _volume_id(item: str) -> str:
    """test_sequential_write[<volume>] and test_sequential_read[<volume>-<level>] -> <volume>."""
    return _LEVEL_SUFFIX.sub("", item.partition("[")[2].rstrip("]"))


def test_two_volumes_are_qualified_one_after_the_other(
    qlab_pytester: pytest.Pytester,
    run_qlab: Callable[..., pytest.RunResult],
    default_json: Callable[[], dict[str, Any]],
) -> None:
    first = qlab_pytester.mkdir("volume-a")
    second = qlab_pytester.mkdir("volume-b")

    # Collection order is run order: session-scoped volume parameters group the items.
    result = run_qlab("--collect-only", "-q", "--volume", str(first), "--volume", str(second))

    assert result.ret == pytest.ExitCode.OK
    items = [line.partition("::")[2] for line in result.stdout.lines if "::" in line]
    per_volume = len(items) // 2
    assert per_volume >= 3, items
    assert len(items) == 2 * per_volume, items
    records = default_json()["qlab"]["volumes"]
    assert [record["path"] for record in records] == [str(first), str(second)]
    first_name, second_name = (record["name"] for record in records)
    assert first_name != second_name
    assert all(f"[{first_name}" in item for item in items[:per_volume]), items
    assert all(f"[{second_name}" in item for item in items[per_volume:]), items


@pytest.mark.integration
def test_two_volumes_are_each_measured_and_reported(
    qlab_pytester: pytest.Pytester,
    run_qlab: Callable[..., pytest.RunResult],
    default_json: Callable[[], dict[str, Any]],
) -> None:
    first = qlab_pytester.mkdir("volume-a")
    second = qlab_pytester.mkdir("volume-b")

    result = run_qlab("-v", "-k", "write", "--volume", str(first), "--volume", str(second))

    run_order = [
        match.group(1) for line in result.stdout.lines if (match := _ITEM_LINE.match(line))
    ]
    document = default_json()
    records = document["qlab"]["volumes"]
    assert [record["path"] for record in records] == [str(first), str(second)]
    assert len(run_order) == 2, result.stdout.str()
    assert run_order[0] != run_order[1]
    for item, record in zip(run_order, records, strict=True):
        assert _volume_id(item).startswith(record["name"]), (item, record["name"])
        assert record["measurements"]["write_mb_s"] > 0
        assert record["ready"] is False, "a volume whose reading was not measured is not ready"
    assert len(document["tests"]) == 2
    assert result.ret == pytest.ExitCode.TESTS_FAILED
