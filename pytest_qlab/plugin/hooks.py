"""The runtime hooks of a qualification run, as methods of one object that holds the run:
registered only when a run was opened, so no hook has to ask whether it is active."""

from __future__ import annotations

import re
import socket
from collections.abc import Generator
from datetime import datetime
from typing import Any

import pytest

from pytest_qlab.core.evidence import MetadataValue
from pytest_qlab.core.modes import LONG_MODES
from pytest_qlab.core.rows import ReportRow
from pytest_qlab.core.session import QlabSession
from pytest_qlab.history.compare import HISTORY_ADVISORY
from pytest_qlab.history.run import RunHistory
from pytest_qlab.plugin.json_report import add_environment
from pytest_qlab.plugin.keys import ITEM_METADATA_KEY, ITEM_ROW_KEY
from pytest_qlab.plugin.report_files import ReportFiles
from pytest_qlab.report.entries import TestEntry, compact
from pytest_qlab.report.html import ItemEvidence, RunFacts, report_title, verdict_banner
from pytest_qlab.report.model import QlabReport, build_report
from pytest_qlab.report.text import (
    rehearsal_notice,
    system_disk_warning,
    target_line,
    verdict_line,
    window_lines,
)
from pytest_qlab.safety.signals import interruption_name


class QlabPlugin:
    """Owns the run from configure to unconfigure: collects each item's summary row while the
    tests run, decides the verdict once when they are over, and renders it everywhere."""

    def __init__(
        self,
        config: pytest.Config,
        run: QlabSession,
        reports: ReportFiles,
        history: RunHistory | None = None,
    ) -> None:
        self.config = config
        self.run = run
        self.reports = reports
        self.history = history
        self.entries: dict[str, TestEntry] = {}
        """Each qualification test's summary row, by node id, in run order."""
        self.evidence: dict[str, ItemEvidence] = {}
        """Each measured item's plots and figures, by node id, for the evidence section."""
        self.long_runs_left_out = 0
        self.html_report: Any = None
        self._report: QlabReport | None = None

    # --- the verdict, decided once ---------------------------------------------------------

    def report(self) -> QlabReport:
        """The run's verdict, decided the first time it is asked for once the tests are over
        (the end of the test loop, or the end of a session that ran none) and kept."""
        if self._report is None:
            self._report = build_report(
                self.run,
                list(self.entries.values()),
                frametimes=self.reports.finish_frametimes(),  # no replay runs after the tests
            )
            if self.history is not None and not self.config.option.collectonly:
                self.history.attach(self._report)
        return self._report

    def _store_history(self, document: dict[str, Any]) -> None:
        """Store the run with its JSON report, once; the ids go into that report."""
        if self.history is None or self.config.option.collectonly or self.history.stored:
            return
        stored = self.history.store(self.report(), document)
        for volume in document.get("qlab", {}).get("volumes", []):
            if isinstance(volume.get("history"), dict) and volume.get("name") in stored:
                volume["history"]["run_id"] = stored[volume["name"]]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        """A volume whose rating misses the requirement fails the run even if every item passed
        (e.g. the read test was deselected): exit code 0 means ready, nothing else."""
        try:
            return (yield)
        except KeyboardInterrupt as exc:
            if self.run.interrupted_by is None:
                self.run.interrupted_by = interruption_name(exc)
            raise
        finally:
            if not session.config.option.collectonly and not self.report().all_ready:
                session.testsfailed = max(session.testsfailed, 1)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        if self.run.interrupted_by is None:
            self.run.interrupted_by = interruption_name(excinfo.value)

    # --- collection --------------------------------------------------------------------------

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "qlab_volume" in metafunc.fixturenames:
            ids = [target.name for target in self.run.targets]
            metafunc.parametrize(
                "qlab_volume", self.run.targets, indirect=True, scope="session", ids=ids
            )
        if "qlab_phase" in metafunc.fixturenames:
            names = [phase.name for phase in self.run.profile.show_phases]
            metafunc.parametrize("qlab_phase", names, indirect=True, ids=names)

    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """`pytest suites/` is the 30-second setup check; the show pattern (2.5 h) and the max
        sustained run (2 h) join only when asked for, so nobody starts a 5-hour run by accident.
        Asking means naming the mode's marker in -m (`-m "not capacity"` asks for none of them)
        or naming its file."""
        base = config.invocation_params.dir
        named = {(base / arg.split("::")[0]).resolve() for arg in config.args}
        chosen = set(re.findall(r"\w+", config.option.markexpr or "")) & set(LONG_MODES)
        keep: list[pytest.Item] = []
        left_out: list[pytest.Item] = []
        no_media: list[pytest.Item] = []
        media = any(self.run.volume(target).media for target in self.run.targets)
        for item in items:
            long_run = any(
                item.get_closest_marker(marker) for marker in LONG_MODES if marker not in chosen
            )
            if not media and "qlab_media" in getattr(item, "fixturenames", ()):
                no_media.append(item)  # without --qlab-media there is no media to play
            elif long_run and item.path.resolve() not in named:
                left_out.append(item)
            else:
                keep.append(item)
        if left_out or no_media:
            config.hook.pytest_deselected(items=[*left_out, *no_media])
            items[:] = keep
        move_history_advisories(items)
        self.long_runs_left_out = len(left_out)

    # --- start of the run --------------------------------------------------------------------

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        run = self.run
        lines = [
            f"qlab: {run.fio.version_text}, required rating {run.options.require.label}, "
            f"time scale {run.options.time_scale:g}",
            # Before anything is measured, so a mistyped show is caught at the start.
            f"qlab profile: {run.profile.name} (normal playback {run.profile.normal_mb_s:.1f} "
            f"MB/s, crossfade peak {run.profile.crossfade_mb_s:.1f} MB/s)",
        ]
        for target in run.targets:
            record = run.volume(target)
            lines.append(f"qlab volume {target.name}: {target_line(target)}")
            if record.leftovers is not None:
                lines += [f"qlab {target.name}: {line}" for line in record.leftovers.lines()]
            if record.drive is not None:
                lines.append(f"qlab drive {target.name}: {record.drive.summary()}")
            if target.is_system_default:
                lines += ["!" * 78, f"!!! {system_disk_warning(str(target.path))}", "!" * 78]
            elif target.on_system_disk:
                lines.append(
                    f"!!! {target.path} is on the system disk, not on a separate show drive"
                )
        if run.options.rehearsal:
            lines.append(f"!!! {rehearsal_notice(run.options.time_scale)}")
        return lines

    @pytest.hookimpl(optionalhook=True)
    def pytest_metadata(self, metadata: dict[str, Any], config: pytest.Config) -> None:
        """pytest-metadata's table is the HTML report's Environment section."""
        describe_run(metadata, self.run)

    # --- each item ---------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        # Here, not at the top: matplotlib loads (and caches fonts) only in a qualification run.
        from pytest_qlab.plugin.attach import entry_for, finding, item_evidence, plain_longrepr

        metadata = item.stash.get(ITEM_METADATA_KEY, None) or {}
        row = item.stash.get(ITEM_ROW_KEY, None) or ReportRow("", "")
        message = finding(call)
        if message is not None:
            plain_longrepr(report, message)
        entry = entry_for(item, report, metadata, row, message)
        if entry is not None:  # a teardown error replaces the call's "passed"
            self.entries[item.nodeid] = entry
        if report.when == "call" and metadata:
            from pytest_html import extras

            self.evidence[item.nodeid] = item_evidence(metadata, self.run.profile, item.name)
            existing = getattr(report, "extras", [])
            measurements = extras.json(compact(metadata), name="measurements")
            report.extras = [*existing, measurements]  # type: ignore[attr-defined]
        return report

    @pytest.hookimpl(optionalhook=True)
    def pytest_json_runtest_metadata(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> dict[str, MetadataValue]:
        if call.when != "call":
            return {}
        metadata = item.stash.get(ITEM_METADATA_KEY, None)
        return {} if metadata is None else compact(metadata)

    # --- the reports: each renders the decided verdict ---------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_json_modifyreport(self, json_report: dict[str, Any]) -> None:
        json_report["qlab"] = self.report().model_dump(mode="json")
        add_environment(json_report, self.config)
        self._store_history(json_report)

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report: Any) -> None:
        # Called at session start; the final title with the verdict is set in the summary hook.
        self.html_report = report
        report.title = "pytest-qlab qualification"

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix: list[str]) -> None:
        decided = self.report()
        facts = RunFacts(
            generated=datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            host=socket.gethostname(),
        )
        prefix.extend(verdict_banner(decided, self.evidence, facts))
        if self.html_report is not None:
            self.html_report.title = report_title(decided)

    def pytest_terminal_summary(
        self, terminalreporter: Any, exitstatus: int, config: pytest.Config
    ) -> None:
        terminalreporter.section("pytest-qlab verdict", bold=True)
        if self.long_runs_left_out:
            terminalreporter.line(
                "setup check only: the show pattern (2.5 h) and max sustained (2 h) runs join "
                'with -m "setup_check or show_pattern" / -m "setup_check or sustained" '
                "(or name their file)"
            )
        if self.run.options.rehearsal:
            notice = rehearsal_notice(self.run.options.time_scale)
            terminalreporter.line(notice, yellow=True, bold=True)
        if config.option.collectonly:
            terminalreporter.line("collect only: nothing was measured, no verdict")
        else:
            report = self.report()
            self._store_history({"qlab": report.model_dump(mode="json")})  # no JSON report
            write_verdicts(terminalreporter, report)
            self._history_lines(terminalreporter)
        for line in self.reports.lines():  # written by now: the reports' hooks ran before
            terminalreporter.line(line.text, red=not line.ok, bold=not line.ok)

    def _history_lines(self, terminalreporter: Any) -> None:
        history = self.history
        if history is None or history.location is None:
            return
        if history.warning is not None:
            terminalreporter.line(f"WARN {history.warning}", yellow=True)
        elif history.stored:
            ids = ", ".join(f"{name} as run {run_id}" for name, run_id in history.stored.items())
            terminalreporter.line(f"history: stored {ids} in {history.location.label}")


def describe_run(metadata: dict[str, Any], run: QlabSession) -> None:
    """The run's volumes, drives, fio, requirement, profile and time scale, for pytest-metadata."""
    for index, target in enumerate(run.targets, start=1):
        label = "QLab volume" if len(run.targets) == 1 else f"QLab volume {index}"
        metadata[label] = target_line(target) + (
            " (SYSTEM DISK)" if target.is_system_default else ""
        )
        drive = run.volume(target).drive
        if drive is not None:
            prefix = "" if len(run.targets) == 1 else f"{target.name}: "
            metadata.update({prefix + key: value for key, value in drive.metadata().items()})
    metadata["fio"] = f"{run.fio.version_text} ({run.fio.path})"
    metadata["Required rating"] = run.options.require.label
    metadata["Show profile"] = run.profile.name
    metadata["Time scale"] = f"{run.options.time_scale:g}" + (
        " (REHEARSAL)" if run.options.rehearsal else ""
    )


def write_verdicts(terminalreporter: Any, report: QlabReport) -> None:
    if report.interrupted_by:
        terminalreporter.line(
            f"INTERRUPTED by {report.interrupted_by}: results are partial.", red=True, bold=True
        )
    for volume in report.volumes:
        if volume.system_default:
            terminalreporter.line(system_disk_warning(volume.path), red=True, bold=True)
        line = verdict_line(report, volume)
        terminalreporter.line(line, green=volume.ready, red=not volume.ready, bold=True)
        if volume.drive is not None:
            terminalreporter.line(f"  drive: {volume.drive.summary()}")
        if volume.history is not None and volume.history.comparison:
            terminalreporter.line(f"  {volume.history.comparison}")
        for reason in volume.rating_reasons:
            terminalreporter.line(f"  {reason}")
        for line in window_lines(volume):
            terminalreporter.line(f"  {line}")
        for advisory in volume.advisories:  # failures are among the reasons above
            if advisory.severity == "warn":
                terminalreporter.line(f"  WARN {advisory.title}: {advisory.message}", yellow=True)
        if volume.max_streams:
            terminalreporter.line(f"  {volume.max_streams}")
        for item in volume.media:
            played = "not played"
            if item.dropped_frames is not None:
                played = f"{item.dropped_frames} of {item.frames_played} frames played dropped"
            terminalreporter.line(
                f"  media {item.path} ({item.codec} {item.raster} {item.fps:g}, "
                f"{item.peak_mb_s:.1f} MB/s peak): {played}"
            )
        if volume.layout:
            terminalreporter.line(f"  {volume.layout}")
    if report.fleet is not None:
        fleet_ready = report.fleet.ready_hosts == report.fleet.hosts
        terminalreporter.line(report.fleet.line, green=fleet_ready, red=not fleet_ready, bold=True)


def _advisory_name(item: pytest.Item) -> object:
    callspec = getattr(item, "callspec", None)
    if getattr(item, "originalname", None) != "test_preshow_advisory" or callspec is None:
        return None
    return callspec.params.get("name")


def _volume_of(item: pytest.Item) -> object:
    callspec = getattr(item, "callspec", None)
    return None if callspec is None else callspec.params.get("qlab_volume")


def move_history_advisories(items: list[pytest.Item]) -> None:
    """The history advisory compares this run's sequential read with the drive's past, so it
    runs after the last item of its file on its volume."""
    for item in [item for item in items if _advisory_name(item) == HISTORY_ADVISORY]:
        items.remove(item)
        same = [
            index
            for index, other in enumerate(items)
            if other.path == item.path and _volume_of(other) is _volume_of(item)
        ]
        items.insert(same[-1] + 1 if same else len(items), item)
