"""The HTML and JSON reports a qualification run leaves behind, where they go and what they say."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.plugin.conftest import SharedRun

RATINGS = {"excellent", "acceptable", "insufficient"}
UNIT_SUFFIXES = ("_mb_s", "_bytes", "_s", "_ms", "_percent")


def _title(page: str) -> str:
    match = re.search(r"<title[^>]*>(.*?)</title>", page, re.DOTALL)
    assert match, "the HTML report has no <title>"
    return html.unescape(match.group(1))


def _html_data(page: str) -> dict[str, Any]:
    """pytest-html keeps its results table as JSON in a data attribute."""
    match = re.search(r'data-jsonblob="([^"]*)"', page)
    assert match, "no results data in the HTML report"
    data = json.loads(html.unescape(match.group(1)))
    assert isinstance(data, dict)
    return data


def test_default_reports_are_named_after_time_and_volume(
    run_qlab: Callable[..., pytest.RunResult],
    load_json: Callable[[Path], dict[str, Any]],
    report_dir: Path,
    volume: Path,
) -> None:
    started = datetime.now()

    # Collection only: the reports are named and written without measuring.
    result = run_qlab("--collect-only", "--volume", str(volume))

    files = sorted(path.name for path in report_dir.iterdir())
    assert len(files) == 2, files
    json_name, html_name = sorted(files, key=lambda name: name.endswith(".html"))
    json_path = report_dir / json_name
    document = load_json(json_path)
    name = document["qlab"]["volumes"][0]["name"]
    match = re.fullmatch(rf"(\d{{8}}-\d{{6}})-{re.escape(name)}\.html", html_name)
    assert match, html_name
    assert json_name == f"{match.group(1)}-{name}.json"
    stamp = datetime.strptime(match.group(1), "%Y%m%d-%H%M%S")
    assert started - timedelta(seconds=2) <= stamp <= datetime.now(), stamp
    for path in (report_dir / html_name, json_path):
        assert f"report: {path.resolve()}" in result.stdout.lines
    assert document["exitcode"] == result.ret


@pytest.mark.integration
def test_default_html_report_is_self_contained_with_the_verdict_in_its_title(
    shared_setup_check: Callable[..., SharedRun],
) -> None:
    run = shared_setup_check()
    report_dir, volume = run.report_dir, run.volume

    (page_path,) = report_dir.glob("*.html")
    assert sorted(report_dir.iterdir()) == sorted(report_dir.glob("*.*")), "assets were written"
    page = page_path.read_text(encoding="utf-8")
    assert not re.search(r"<link\b[^>]*\bhref=", page), "the HTML links a stylesheet file"
    assert not re.search(r"<script\b[^>]*\bsrc=", page), "the HTML loads a script file"
    data = _html_data(page)
    extras = [extra for runs in data["tests"].values() for run in runs for extra in run["extras"]]
    assert extras, "no measurements attached to the HTML rows"
    assert all(str(extra["content"]).startswith("data:") for extra in extras), extras

    (record,) = run.report["qlab"]["volumes"]
    status = "READY" if record["ready"] else "NOT READY"
    verdict = f"{record['name']}: {record['rating'].upper()} - {status} for Acceptable"
    assert verdict in _title(page)
    assert 'class="qlab-verdict ' in page
    assert any(str(volume) in str(value) for value in data["environment"].values())


@pytest.mark.integration
def test_json_report_carries_the_qlab_block_and_per_test_metadata(
    shared_setup_check: Callable[..., SharedRun],
) -> None:
    # Without the capacity search: the slowest item, it adds nothing to what is checked here.
    run = shared_setup_check()

    document, volume = run.report, run.volume
    qlab = document["qlab"]
    assert isinstance(qlab["schema_version"], str)
    assert re.fullmatch(r"\d+\.\d+", qlab["schema_version"])
    assert qlab["rehearsal"] is True
    assert qlab["time_scale"] == pytest.approx(0.02)
    assert qlab["required"] == "acceptable"
    (record,) = qlab["volumes"]
    assert record["path"] == str(volume)
    assert record["rating"] in RATINGS
    assert isinstance(record["ready"], bool)
    assert record["measurements"]["read_mb_s"] > 0
    assert record["measurements"]["write_mb_s"] > 0

    tests = {test["nodeid"].split("::")[-1]: test for test in document["tests"]}
    assert {"test_sequential_write", "test_sequential_read"} <= {
        nodeid.partition("[")[0] for nodeid in tests
    }, sorted(tests)
    for nodeid, test in tests.items():
        metadata = test["metadata"]
        assert metadata, f"{nodeid} has no metadata"
        floats = [key for key, value in metadata.items() if isinstance(value, float)]
        assert all(key.endswith(UNIT_SUFFIXES) for key in floats), (nodeid, floats)
        if nodeid.startswith("test_sequential_write"):
            assert "write_mb_s" in metadata, (nodeid, metadata)
        if nodeid.startswith("test_sequential_read"):
            assert {"read_mb_s", "required_mb_s"} <= set(metadata), (nodeid, metadata)
    environment = document["environment"]
    assert environment, "the JSON environment is empty"
    assert any(str(volume) in str(value) for value in environment.values()), environment


@pytest.mark.parametrize(
    "json_args",
    [("--json-report", "--json-report-file"), ("--json-report-file",)],
    ids=["json-report-and-file", "file-only"],
)
def test_reports_the_user_chose_are_honoured(
    qlab_pytester: pytest.Pytester,
    run_qlab: Callable[..., pytest.RunResult],
    load_json: Callable[[Path], dict[str, Any]],
    report_dir: Path,
    volume: Path,
    json_args: tuple[str, ...],
) -> None:
    mine = qlab_pytester.path / "mine"
    html_path = mine / "show.html"
    json_path = mine / "data" / "show.json"

    # Collection only: the reports are written without measuring.
    result = run_qlab(
        "--collect-only",
        "--volume",
        str(volume),
        "--html",
        str(html_path),
        *json_args,
        str(json_path),
    )

    assert not report_dir.exists(), "default reports were written next to the user's"
    assert html_path.is_file()
    assert _title(html_path.read_text(encoding="utf-8")).startswith("pytest-qlab: ")
    document = load_json(json_path)
    assert document["qlab"]["volumes"][0]["path"] == str(volume)
    assert f"report: {html_path.resolve()}" in result.stdout.lines
    assert f"report: {json_path.resolve()}" in result.stdout.lines
