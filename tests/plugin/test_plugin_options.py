"""The --qlab-* options and their ini twins: help, validation, precedence (the drive history's
included), and an inert plugin."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

QLAB_GROUP_TITLE = "pytest-qlab: qualify a drive for QLab ProRes playback:"

OPTION_HELP = {
    "--volume=PATH": ["volume to qualify", "/Volumes/Show", "repeat", "system temp folder"],
    "--fio=PATH": ["fio binary to use", "$QLAB_FIO", "fio on PATH"],
    "--qlab-time-scale=F": ["compress every duration by F", "0 < F <= 1", "REHEARSAL"],
    "--qlab-require=LEVEL": ["rating that makes the run pass", "acceptable", "excellent"],
    "--qlab-profile=TOML|NAME": ["show profile", "TOML file", "built-in name"],
    "--qlab-stream=SPEC": ["a stream of the show", "hq:3840x2160@29.97", "MB/s@FPS", "repeat"],
    "--qlab-report-dir=DIR": ["folder for the default HTML and JSON reports", "default: reports"],
    "--qlab-keep-files": ["keep the scratch folder on the volume"],
    "--qlab-frametimes": ["every replayed frame's timing", "CSV beside the HTML report"],
}
INI_HELP = {
    "qlab_time_scale": "compress every duration by F (0 < F <= 1)",
    "qlab_require": "rating that makes the run pass: acceptable (default) or excellent",
    "qlab_report_dir": "folder for the default HTML and JSON reports",
    "qlab_profile": "show profile: a TOML file describing the show's streams",
}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _qlab_group(help_text: str) -> str:
    """The lines of the qlab option group, up to the blank line that ends it."""
    lines = help_text.splitlines()
    start = lines.index(QLAB_GROUP_TITLE)
    end = lines.index("", start)
    return "\n".join(lines[start:end])


def test_help_lists_every_qlab_option_in_its_group(
    qlab_pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # no wrapping inside option names or phrases
    result = qlab_pytester.runpytest_subprocess("--help")

    assert result.ret == pytest.ExitCode.OK
    output = result.stdout.str()
    group = _one_line(_qlab_group(output))
    for option, phrases in OPTION_HELP.items():
        assert option in group, f"{option} is not in the qlab group:\n{group}"
        for phrase in phrases:
            assert phrase in group, f"help of {option} lacks {phrase!r}:\n{group}"
    flat = _one_line(output)
    for name, help_text in INI_HELP.items():
        assert f"{name} (string): {help_text}" in flat, f"ini option {name} is not documented"


@pytest.mark.parametrize(
    ("option", "value", "explanation"),
    [
        ("--qlab-time-scale", "0", "give a number above 0 and at most 1"),
        ("--qlab-time-scale", "1.5", "give a number above 0 and at most 1"),
        ("--qlab-time-scale", "-0.1", "give a number above 0 and at most 1"),
        ("--qlab-time-scale", "abc", "give a number above 0 and at most 1"),
        ("--qlab-require", "great", "use acceptable or excellent"),
        ("--qlab-require", "insufficient", "use acceptable or excellent"),
    ],
)
def test_bad_option_value_is_a_usage_error(
    run_qlab: Callable[..., pytest.RunResult],
    report_dir: Path,
    option: str,
    value: str,
    explanation: str,
) -> None:
    result = run_qlab(option, value)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    stderr = result.stderr.str()
    assert f"argument {option}: {value!r} is not" in stderr
    assert explanation in stderr
    assert [line for line in result.stderr.lines if line.startswith("ERROR:")], stderr
    assert "Traceback" not in stderr + result.stdout.str()
    assert not report_dir.exists(), "a refused run must not write reports"


@pytest.mark.parametrize(
    ("file_name", "content"),
    [
        ("pytest.ini", "[pytest]\n{name} = {value}\n"),
        ("tox.ini", "[tox]\nenvlist = py311\n\n[pytest]\n{name} = {value}\n"),
        ("setup.cfg", "[tool:pytest]\n{name} = {value}\n"),
        ("pyproject.toml", '[tool.pytest.ini_options]\n{name} = "{value}"\n'),
    ],
    ids=["pytest.ini", "tox.ini", "setup.cfg", "pyproject.toml"],
)
@pytest.mark.parametrize(
    ("name", "value", "explanation"),
    [
        ("qlab_time_scale", "7", "give a number above 0 and at most 1"),
        ("qlab_require", "great", "use acceptable or excellent"),
    ],
    ids=["time-scale", "require"],
)
def test_bad_ini_value_is_a_usage_error_naming_option_and_file(
    qlab_pytester: pytest.Pytester,
    run_qlab: Callable[..., pytest.RunResult],
    report_dir: Path,
    file_name: str,
    content: str,
    name: str,
    value: str,
    explanation: str,
) -> None:
    ini = qlab_pytester.path / file_name
    ini.write_text(content.format(name=name, value=value), encoding="utf-8")

    result = run_qlab("--qlab-report-dir", str(report_dir), defaults=False)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1, result.stderr.str()
    assert f"ini option {name} in {ini}" in errors[0]
    assert f"{value!r} is not" in errors[0]
    assert explanation in errors[0]
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    assert not report_dir.exists()


def test_ini_options_are_honoured(
    qlab_pytester: pytest.Pytester,
    run_qlab: Callable[..., pytest.RunResult],
    default_json: Callable[[], dict[str, Any]],
    report_dir: Path,
) -> None:
    qlab_pytester.makeini(
        f"""
        [pytest]
        qlab_require = excellent
        qlab_time_scale = 0.02
        qlab_report_dir = {report_dir}
        """
    )

    result = run_qlab("--collect-only", defaults=False)

    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["qlab: fio-*, required rating Excellent, time scale 0.02"])
    qlab = default_json()["qlab"]
    assert qlab["required"] == "excellent"
    assert qlab["time_scale"] == pytest.approx(0.02)


def test_command_line_overrides_ini(
    qlab_pytester: pytest.Pytester,
    run_qlab: Callable[..., pytest.RunResult],
    default_json: Callable[[], dict[str, Any]],
    report_dir: Path,
) -> None:
    ini_reports = qlab_pytester.path / "ini-reports"
    qlab_pytester.makeini(
        f"""
        [pytest]
        qlab_require = excellent
        qlab_time_scale = 0.5
        qlab_report_dir = {ini_reports}
        """
    )

    result = run_qlab(
        "--collect-only",
        "--qlab-require",
        "acceptable",
        "--qlab-time-scale",
        "0.02",
        "--qlab-report-dir",
        str(report_dir),
    )

    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["qlab: fio-*, required rating Acceptable, time scale 0.02"])
    qlab = default_json()["qlab"]
    assert qlab["required"] == "acceptable"
    assert qlab["time_scale"] == pytest.approx(0.02)
    assert not ini_reports.exists(), "the ini report folder was used despite --qlab-report-dir"


@pytest.mark.parametrize(
    ("conftest", "args"),
    [
        (None, ()),
        (None, ("--qlab-time-scale", "0.02", "--qlab-require", "excellent")),
        ("QLAB_SUITES = False", ("--qlab-time-scale", "0.02")),
        ("QLAB_SUITES = 'yes'", ("--qlab-time-scale", "0.02")),
    ],
    ids=["no-conftest", "no-conftest-with-options", "flag-false", "flag-not-true"],
)
def test_plugin_is_inert_without_qlab_suites(
    pytester: pytest.Pytester, conftest: str | None, args: tuple[str, ...]
) -> None:
    if conftest is not None:
        pytester.makeconftest(conftest)
    pytester.makepyfile(test_plain="def test_ok() -> None:\n    assert 1 + 1 == 2\n")

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1)
    output = result.stdout.str()
    assert not [line for line in result.stdout.lines if line.startswith("qlab")], output
    for word in ("pytest-qlab verdict", "SYSTEM DISK", "REHEARSAL", "report:"):
        assert word not in output
    assert not (pytester.path / "reports").exists()
    assert not list(pytester.path.rglob("*.json"))
    assert not list(pytester.path.rglob("*.html"))
    assert not list(pytester.path.rglob(".pytest-qlab"))


def test_qlab_fixtures_explain_they_need_a_qualification_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_uses(qlab_session: object) -> None:\n    pass\n")

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*need a qualification run: set QLAB_SUITES = True*"])
    result.assert_outcomes(errors=1)
    assert "Traceback" not in result.stdout.str()


def test_plugin_is_inert_even_with_a_bad_qlab_ini_value(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nqlab_time_scale = 7\n")
    pytester.makepyfile(test_plain="def test_ok() -> None:\n    assert 1 + 1 == 2\n")

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    assert result.ret == pytest.ExitCode.OK, result.stderr.str()


def _stored_runs(store: Path) -> int:
    with sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True) as connection:
        (count,) = connection.execute("SELECT count(*) FROM qlab_runs").fetchone()
    connection.close()
    return int(count)


def test_the_ini_history_is_used_and_the_command_line_overrides_it(
    qlab_pytester: pytest.Pytester,
    run_qlab: Callable[..., pytest.RunResult],
    fio_stand_in: Path,
    volume: Path,
) -> None:
    """`qlab_history = FILE|off` in the ini, as a station's pytest.ini sets it; the advisories
    only (nothing measured), which are stored as a run like any other."""
    ini_store = qlab_pytester.path / "ini-history" / "h.sqlite3"
    cli_store = qlab_pytester.path / "cli-history" / "h.sqlite3"
    quick = ("--volume", str(volume), "-k", "advisory", "--fio", str(fio_stand_in))
    qlab_pytester.makeini(f"[pytest]\nqlab_history = {ini_store}\n")

    from_ini = run_qlab(*quick)
    from_cli = run_qlab(*quick, "--qlab-history", str(cli_store))
    qlab_pytester.makeini("[pytest]\nqlab_history = off\n")
    off_reports = qlab_pytester.path / "off-reports"
    off = run_qlab(*quick, "--qlab-report-dir", str(off_reports))

    assert "Traceback" not in from_ini.stdout.str() + from_cli.stdout.str() + off.stdout.str()
    from_ini.stdout.fnmatch_lines([f"history: stored * as run 1 in {ini_store}"])
    from_cli.stdout.fnmatch_lines([f"history: stored * as run 1 in {cli_store}"])
    assert (_stored_runs(ini_store), _stored_runs(cli_store)) == (1, 1)
    assert not [line for line in off.stdout.lines if line.startswith(("history", "WARN history"))]
    (off_json,) = off_reports.glob("*.json")
    (off_volume,) = json.loads(off_json.read_text(encoding="utf-8"))["qlab"]["volumes"]
    assert off_volume["history"] is None
    assert _stored_runs(ini_store) == 1
