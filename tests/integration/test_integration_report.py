"""The reports of a real scaled setup check, as a person gets them: the HTML page rendered in
headless Chromium (verdict banner, matrix and a plot visible, nothing loaded from outside), the
JSON valid against the published schema, `summary` and `compare` on the saved file, and an
interrupted run's report saying so."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_qlab.report.model import json_schema
from tests.integration.conftest import block_device_of

if TYPE_CHECKING:
    from tests.integration.conftest import (
        BlkioCgroup,
        FioWatch,
        MainJob,
        MainJobRunner,
        Mounts,
        SetupCheckRun,
    )

pytestmark = pytest.mark.integration

CHROMIUM_NAMES = ("chromium", "chromium-browser")
WINDOW = (900, 7000)
"""Tall enough that the results table, with its plots, is inside the screenshot."""
OKABE_BLUE = (0x00, 0x72, 0xB2)
CAPPED_LOOP_MIB = 6 * 1024
CAPPED_READ_BYTES_S = 80_000_000
"""Far below the default profile's 656 MB/s normal set: the sequential read must fail."""
EXTERNAL_LOAD = re.compile(
    r"<(?:img|script|iframe|source|video|audio|embed)\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//"
    r"|<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//"
    r"|url\(\s*[\"']?(?:https?:)?//"
    r"|@import\s+[\"']?(?:https?:)?//",
    re.IGNORECASE,
)
"""What makes a browser fetch something; a plain <a href> link loads nothing."""


@pytest.fixture
def setup_run(setup_check_run: SetupCheckRun) -> MainJob:
    """The setup check whose verdict and clean-up test_integration_setup_check.py checks."""
    return setup_check_run.job


def _html_path(job: MainJob) -> Path:
    (found,) = sorted(job.report_dir.glob("*.html"))
    return found


def _results_data(page: str) -> dict[str, Any]:
    match = re.search(r'data-jsonblob="([^"]*)"', page)
    assert match, "no results data in the HTML report"
    data: dict[str, Any] = json.loads(html.unescape(match.group(1)))
    return data


def test_html_report_holds_every_element(setup_run: MainJob) -> None:
    assert "Traceback" not in setup_run.output, setup_run.output
    page = _html_path(setup_run).read_text(encoding="utf-8")
    for css_class in (
        "qlab-verdict",
        "qlab-drive",
        "qlab-profile",
        "qlab-summary",
        "qlab-matrix",
        "qlab-technical",
    ):
        assert re.search(rf'class="(?:[\w-]+ )*{css_class}[" ]', page), css_class
    assert 'data-mode="setup_check"' in page
    assert "REHEARSAL" in page
    plots = re.findall(r'<figure class="qlab-plot"><img alt="([^"]*)" src="([^"]{0,40})', page)
    assert plots, "no plot in the report"
    names = {name for name, _ in plots}
    assert names >= {"frame latency", "lateness over time", "streams against dropped frames"}
    assert all(src.startswith("data:image/svg+xml;base64,") for _, src in plots)
    assert "<details" in page, "the full matrix is not behind a <details>"
    assert not EXTERNAL_LOAD.search(page), EXTERNAL_LOAD.search(page)


def test_json_report_validates_against_the_published_schema(setup_run: MainJob) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    document = setup_run.report()
    jsonschema.validate(document["qlab"], json_schema())
    qlab = document["qlab"]
    entries = {entry["name"].split("[", 1)[0]: entry for entry in qlab["tests"]}
    assert {"test_sequential_read", "test_normal_playback"} <= entries.keys()
    replay = entries["test_normal_playback"]
    assert replay["mode"] == "setup_check"
    assert replay["measured"]
    assert replay["required"]
    assert replay["series"]["latency_histograms"]
    environment = document["environment"]
    assert environment["Show profile"] == "default"
    assert environment["fio"].startswith("fio")


def test_summary_and_compare_read_the_saved_report(setup_run: MainJob) -> None:
    path = setup_run.report_path()
    volume = setup_run.volume_report()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest_qlab.report", *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    summary = cli("summary", str(path))
    assert summary.returncode == 0, summary.stderr
    assert f"{volume['name']}: {volume['rating'].upper()}" in summary.stdout
    assert "REHEARSAL" in summary.stdout
    compare = cli("compare", str(path), str(path))
    assert compare.returncode == 0, compare.stderr
    assert f"{volume['name']}: no change that matters" in compare.stdout


def _chromium() -> str:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")


def _run_chromium(*args: str) -> subprocess.CompletedProcess[str]:
    command = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    environment = {**os.environ, "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environment,
    )


def test_report_as_a_person_sees_it_in_chromium(setup_run: MainJob, tmp_path: Path) -> None:
    """Rows expanded (`?collapsed=none`, a pytest-html query parameter) as a reader clicking
    each one would see them."""
    url = _html_path(setup_run).resolve().as_uri() + "?collapsed=none"
    dom = _run_chromium("--virtual-time-budget=5000", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr
    rendered = dom.stdout
    assert 'class="qlab-verdict ' in rendered
    assert 'class="qlab-matrix"' in rendered
    assert 'src="data:image/svg+xml;base64,' in rendered, "no plot rendered"
    assert not EXTERNAL_LOAD.search(rendered), EXTERNAL_LOAD.search(rendered)

    screenshot = tmp_path / "report.png"
    shot = _run_chromium(
        f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--screenshot={screenshot}", url
    )
    assert shot.returncode == 0, shot.stderr
    image_module = pytest.importorskip("PIL.Image")
    with image_module.open(screenshot) as image:
        assert image.format == "PNG"
        assert image.size == WINDOW
        pixels = image.convert("RGB")
        colours = pixels.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50, "the screenshot is blank"
    banner = {(0x1B, 0x78, 0x37), (0xB2, 0x18, 0x2B)}
    counts = {colour: count for count, colour in colours}
    assert any(counts.get(colour, 0) > 200 for colour in banner), "no verdict banner on screen"
    assert counts.get(OKABE_BLUE, 0) > 20, "no plot on screen (its Okabe-Ito blue is missing)"


FIRST_SCREEN = (1280, 800)
LAYOUT_PROBE = """<script>
window.addEventListener("load", () => {
  const box = (selector) => {
    const found = document.querySelector(selector);
    if (!found) return null;
    const rect = found.getBoundingClientRect();
    return {top: rect.top, bottom: rect.bottom, height: rect.height};
  };
  document.body.setAttribute("data-layout", JSON.stringify({
    banner: box(".qlab-banner"), chart: box(".qlab-chart img"), technical: box(".qlab-technical"),
    environment: box("#environment"), results: box("#results-table"),
    viewport: window.innerHeight}));
});
</script></body>"""
"""Measures where the page's parts landed once laid out at the window size: the report itself
is left alone, a copy gets the probe, and `--dump-dom` hands the result back."""
PYTHON_IN_REPORT = ("object at 0x", "Traceback", "def test_", "<Rating.")


def _layout(report: Path, tmp_path: Path) -> dict[str, Any]:
    probed = tmp_path / "probed.html"
    probed.write_text(
        report.read_text(encoding="utf-8").replace("</body>", LAYOUT_PROBE, 1), encoding="utf-8"
    )
    width, height = FIRST_SCREEN
    dom = _run_chromium(
        f"--window-size={width},{height}",
        "--virtual-time-budget=5000",
        "--dump-dom",
        probed.as_uri(),
    )
    assert dom.returncode == 0, dom.stderr
    match = re.search(r'data-layout="([^"]*)"', dom.stdout)
    assert match, "the layout probe did not run"
    layout: dict[str, Any] = json.loads(html.unescape(match.group(1)))
    return layout


def _assert_verdict_first(report: Path, tmp_path: Path) -> None:
    layout = _layout(report, tmp_path)
    screen = FIRST_SCREEN[1]
    for part in ("banner", "chart"):
        box = layout[part]
        assert box is not None, f"no {part} in the report"
        assert box["height"] > 0, f"the {part} is not shown: {layout}"
        assert box["top"] >= 0, f"{part} above the first screen: {layout}"
        assert box["bottom"] <= screen, f"{part} below the first screen: {layout}"
    for part in ("technical", "environment", "results"):
        assert layout[part]["top"] > layout["chart"]["bottom"], f"{part} before the verdict"


def _printed_first_page(report: Path, tmp_path: Path) -> str:
    pdf = tmp_path / "report.pdf"
    printed = _run_chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", report.as_uri())
    assert printed.returncode == 0, printed.stderr
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (Debian: apt-get install poppler-utils)")
    text = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return " ".join(text.split())


def _printed_pages(report: Path, tmp_path: Path) -> list[str]:
    """Each printed page's text, in reading order (pdftotext ends each page with a form feed)."""
    pdf = tmp_path / "whole.pdf"
    printed = _run_chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", report.as_uri())
    assert printed.returncode == 0, printed.stderr
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (Debian: apt-get install poppler-utils)")
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return text.split("\f")[:-1]


ITEM_HEADING = re.compile(r"^(?:PASSED|FAILED|XFAILED|XPASSED|ERROR) (test_\S+)$")
PLOT_CAPTIONS = (
    "throughput over time",
    "frame latency",
    "lateness over time",
    "streams against dropped frames",
)


def test_printed_report_keeps_each_item_with_its_plot_and_has_no_blank_page(
    setup_run: MainJob, tmp_path: Path
) -> None:
    """What a Save as PDF gives: no empty page (pytest-html's 550 px spacer made a blank last
    one), and no item heading left at the foot of a page whose plot went to the next."""
    pages = _printed_pages(_html_path(setup_run), tmp_path)
    assert len(pages) > 1
    for number, page in enumerate(pages, start=1):
        assert page.strip(), f"page {number} of {len(pages)} is blank"
        lines = [line.strip() for line in page.splitlines() if line.strip()]
        for index, line in enumerate(lines):
            heading = ITEM_HEADING.match(line)
            if heading is None or heading.group(1).startswith("test_preshow_advisory"):
                continue
            rest = lines[index + 1 :]
            assert any(caption in rest for caption in PLOT_CAPTIONS), (
                f"page {number}: {heading.group(1)} is printed apart from its plot"
            )


def test_every_measurement_has_its_plot_and_the_verdict_comes_first(
    setup_run: MainJob, tmp_path: Path
) -> None:
    report = _html_path(setup_run)
    page = report.read_text(encoding="utf-8")
    measured = [
        entry
        for entry in setup_run.report()["qlab"]["tests"]
        if not entry["name"].startswith("test_preshow_advisory")
    ]
    assert measured
    for entry in measured:
        nodeid = html.escape(entry["nodeid"])
        match = re.search(
            rf'<article class="qlab-item" data-nodeid="{re.escape(nodeid)}">(.*?)</article>',
            page,
            re.DOTALL,
        )
        assert match, f"{entry['name']} has no evidence block"
        assert '<img alt="' in match.group(1), f"{entry['name']} has no plot"
        assert 'src="data:image/svg+xml;base64,' in match.group(1)
    _assert_verdict_first(report, tmp_path)


@pytest.mark.needs_root
def test_failed_qualification_reads_without_python_on_screen_and_printed(
    tmp_path: Path, main_job: MainJobRunner, mounts: Mounts, blkio_cgroup: BlkioCgroup
) -> None:
    """A drive capped far below the normal set's bandwidth: the sequential read fails, and its
    report is a readable NOT READY certificate."""
    volume = mounts.loop_ext4("slow", CAPPED_LOOP_MIB)
    blkio_cgroup.limit_read(block_device_of(volume), CAPPED_READ_BYTES_S)
    job = main_job.run(volume, "-k", "sequential", preexec_fn=blkio_cgroup.join)
    assert "Traceback" not in job.output, job.output
    assert job.returncode == pytest.ExitCode.TESTS_FAILED, job.output
    assert job.outcomes().get(next(n for n in job.outcomes() if "acceptable" in n)) == "failed"
    record = job.volume_report()
    assert record["ready"] is False
    report = _html_path(job)
    page = html.unescape(report.read_text(encoding="utf-8"))
    for python in PYTHON_IN_REPORT:
        assert python not in page, python
    assert "short by" in page  # the finding itself, measured against required
    _assert_verdict_first(report, tmp_path)
    first_page = _printed_first_page(report, tmp_path)
    assert "NOT READY for Acceptable" in first_page, first_page
    assert record["drive"]["filesystem"] in first_page, first_page
    assert f"{record['measurements']['read_mb_s']:.1f} MB/s" in first_page, first_page


def test_interrupted_run_report_says_interrupted(
    tmp_path: Path, main_job: MainJobRunner, fio_watch: FioWatch
) -> None:
    volume = tmp_path / "Show"
    volume.mkdir()
    process = main_job.start(volume, scale="0.5")
    try:
        fio_watch.wait_for(process, "sequential-write")
        time.sleep(0.5)
        os.kill(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    run = main_job.finished(process.returncode, stdout, stderr)
    assert run.returncode == pytest.ExitCode.INTERRUPTED, run.output
    page = _html_path(run).read_text(encoding="utf-8")
    assert "INTERRUPTED by SIGINT" in html.unescape(page)
    assert run.report()["qlab"]["interrupted"] is True
    summary = subprocess.run(
        [sys.executable, "-m", "pytest_qlab.report", "summary", str(run.report_path())],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert "INTERRUPTED" in summary.stdout, summary.stdout + summary.stderr
