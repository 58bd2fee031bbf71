"""The run's HTML and JSON report files: their folders checked at the start, and both written
through the core's atomic writer with its fallback (`pytest_qlab.report.files`) at the end.

pytest-json-report is told not to save (its documented `--json-report-file none`); the finished
document reaches us through its public `pytest_json_modifyreport` hook and we write it. pytest-html
has no hook that hands out the rendered page, so its one write method (`_write_report`, pinned by
the `pytest-html<5` requirement) is pointed at the same writer: the page is still pytest-html's,
only where it lands is ours. Both then fail into one line instead of a traceback that would stop
the verdict from printing."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_qlab.core.options import QlabOptions
from pytest_qlab.report.files import (
    ReportFolderError,
    WrittenReport,
    check_report_folder,
    remove_folders,
    write_report,
)
from pytest_qlab.report.frametimes import FrameTimesFile, frametimes_path
from pytest_qlab.report.model import FrameTimesReport, frametimes_report
from pytest_qlab.report.paths import default_report_paths
from pytest_qlab.safety.volume import TargetVolume


def _as_pytest_html_does(raw: str) -> Path:
    """pytest-html's own reading of --html, so that both name the same file."""
    return Path.cwd() / Path(os.path.expandvars(raw)).expanduser()


def _user_json(config: pytest.Config) -> bool:
    return bool(config.getoption("json_report", False)) or any(
        arg.startswith("--json-report-file") for arg in config.invocation_params.args
    )


def check_report_folders(config: pytest.Config, options: QlabOptions) -> list[Path]:
    """Every folder a report will be written to can be created and written in: checked before
    the run opens, so a bad folder costs nothing. Raises ReportFolderError; returns the folders
    it created."""
    folders: dict[Path, str] = {}
    html = config.getoption("htmlpath", None)
    if html:
        folders.setdefault(_as_pytest_html_does(str(html)).parent, "--html")
    else:
        folders.setdefault(options.report_dir, "--qlab-report-dir")
    if not _user_json(config):
        folders.setdefault(options.report_dir, "--qlab-report-dir")
    elif config.option.json_report_file:
        folders.setdefault(Path(config.option.json_report_file).parent, "--json-report-file")
    created: list[Path] = []
    try:
        for folder, option in folders.items():
            created += check_report_folder(folder, option)
    except ReportFolderError:
        remove_folders(created)
        raise
    return created


@dataclass(frozen=True)
class ReportLine:
    text: str
    ok: bool


class ReportFiles:
    """Registered as a plugin for its hooks: where each report should go, and after the end
    where each went."""

    def __init__(self, config: pytest.Config, html: Path | None, json_path: Path | None) -> None:
        self.config = config
        self.html = html
        self.json = json_path
        self.written: dict[Path, WrittenReport] = {}
        self._json_document: dict[str, Any] | None = None
        self.frametimes: FrameTimesFile | None = None
        """The per-frame timings CSV, when asked for (--qlab-frametimes)."""

    @classmethod
    def set_up(
        cls, config: pytest.Config, options: QlabOptions, targets: Sequence[TargetVolume]
    ) -> ReportFiles:
        """Default pytest-html and pytest-json-report outputs unless the user chose their own;
        then take over writing them."""
        html_path, json_path = default_report_paths(options.report_dir, targets)
        if not config.getoption("htmlpath", None):
            config.option.htmlpath = str(html_path)
            config.option.self_contained_html = True
        html = _as_pytest_html_does(str(config.option.htmlpath)).resolve()
        user_json = _user_json(config)
        config.option.json_report = True
        if not user_json:
            config.option.json_report_file = str(json_path)
            config.option.json_report_indent = 2
        wanted_json = config.option.json_report_file
        config.option.json_report_file = None  # we save it, atomically
        if config.option.json_report_verbosity is None:
            config.option.json_report_verbosity = -1  # its "auto-save skipped": our line says
        return cls(config, html, Path(wanted_json).resolve() if wanted_json else None)

    def wanted(self) -> list[Path]:
        return [path for path in (self.html, self.json) if path is not None]

    def start_frametimes(self) -> FrameTimesFile:
        """The CSV beside the HTML report, opened before anything is measured; raises
        ReportFolderError."""
        if self.html is None:  # set_up always names one
            raise ValueError("the frame times file is named after the HTML report")
        self.frametimes = FrameTimesFile.start(frametimes_path(self.html))
        self.config.add_cleanup(self.frametimes.discard)  # a run that ends in an error
        return self.frametimes

    def finish_frametimes(self) -> FrameTimesReport | None:
        """Once the tests are over: the CSV renamed into place (or copied), its line kept. A
        run that measured nothing (collect only) leaves none."""
        found = self.frametimes
        if found is None:
            return None
        if self.config.option.collectonly:
            found.discard()
            self.frametimes = None
            return None
        written = found.close()
        self.written[found.path] = written
        return frametimes_report(written, found.rows)

    def lines(self) -> list[ReportLine]:
        """One line per report: where it is, or why it is not where it should be."""
        lines = []
        for path in self.wanted():
            written = self.written.get(path)
            if written is None:
                lines.append(ReportLine(f"report: {path}", ok=True))
            else:
                lines.append(ReportLine(written.line(), ok=written.in_place))
        if self.frametimes is not None:
            written = self.written.get(self.frametimes.path)
            if written is not None:
                lines.append(ReportLine(written.line(), ok=written.in_place))
        return lines

    # --- the HTML: pytest-html renders, we write --------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Before pytest-html's own session start, its first chance to write."""
        html_report = self._html_plugin()
        if html_report is not None and callable(getattr(html_report, "_write_report", None)):
            html_report._write_report = self._write_html

    def _html_plugin(self) -> Any:
        from pytest_html.basereport import BaseReport

        for plugin in self.config.pluginmanager.get_plugins():
            if isinstance(plugin, BaseReport):
                return plugin
        return None

    def _write_html(self, rendered: str) -> None:
        if self.html is not None:
            self.written[self.html] = write_report(self.html, rendered.encode("utf-8"))

    # --- the JSON: pytest-json-report builds, we write --------------------------------------

    @pytest.hookimpl(optionalhook=True, trylast=True)
    def pytest_json_modifyreport(self, json_report: dict[str, Any]) -> None:
        self._json_document = json_report  # written once every plugin has added to it

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """After pytest-json-report's (tryfirst) has built the document."""
        if self.json is None or self._json_document is None:
            return
        indent = self.config.option.json_report_indent
        text = json.dumps(self._json_document, default=str, indent=indent)
        self.written[self.json] = write_report(self.json, text.encode("utf-8"))

    def pytest_terminal_summary(self) -> None:
        """pytest-html's closing "Generated html report" line (trylast, after this) names
        where the page is, which is the copy when the folder failed."""
        html_report = self._html_plugin()
        written = self.written.get(self.html) if self.html is not None else None
        if html_report is not None and written is not None and written.location is not None:
            html_report._report_path = written.location
