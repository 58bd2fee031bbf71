"""pytest wiring for pytest-qlab: options, fixtures and hooks. Domain logic lives in the core.

The plugin is inert unless a conftest declares `QLAB_SUITES = True` (suites/conftest.py does),
so that `pytest tests/` and other projects are never affected by it. In a qualification run,
`pytest_configure` opens the run (the core's `open_run`) and registers one `QlabPlugin` holding
it, whose methods are the runtime hooks.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pytest_qlab import __version__
from pytest_qlab.core.errors import QlabError
from pytest_qlab.core.modes import markers
from pytest_qlab.core.options import QlabOptions
from pytest_qlab.core.run import open_run
from pytest_qlab.history.location import resolve
from pytest_qlab.history.run import RunHistory, utc_now
from pytest_qlab.plugin.fixtures import (
    qlab_advisories,
    qlab_gate,
    qlab_history_advisory,
    qlab_measure,
    qlab_media,
    qlab_phase,
    qlab_progress,
    qlab_record,
    qlab_requirement,
    qlab_runner,
    qlab_scratch,
    qlab_session,
    qlab_setup_check,
    qlab_setup_plan,
    qlab_show_pattern,
    qlab_sustained,
    qlab_thermal,
    qlab_volume,
)
from pytest_qlab.plugin.hooks import QlabPlugin, describe_run
from pytest_qlab.plugin.keys import HISTORY_KEY, SESSION_KEY, SUITE_FLAG
from pytest_qlab.plugin.options import pytest_addoption, read_options
from pytest_qlab.plugin.report_files import ReportFiles, check_report_folders
from pytest_qlab.report.files import remove_folders
from pytest_qlab.safety.signals import install_terminate_handlers

# The fixtures and the option hook are defined in their own modules; naming them here
# registers them with the plugin.
__all__ = [
    "pytest_addoption",
    "qlab_advisories",
    "qlab_gate",
    "qlab_history_advisory",
    "qlab_measure",
    "qlab_media",
    "qlab_phase",
    "qlab_progress",
    "qlab_record",
    "qlab_requirement",
    "qlab_runner",
    "qlab_scratch",
    "qlab_session",
    "qlab_setup_check",
    "qlab_setup_plan",
    "qlab_show_pattern",
    "qlab_sustained",
    "qlab_thermal",
    "qlab_volume",
]


def is_qualification_run(config: pytest.Config) -> bool:
    return any(
        getattr(plugin, SUITE_FLAG, False) is True for plugin in config.pluginmanager.get_plugins()
    )


STYLESHEET = Path(__file__).resolve().parent.parent / "report" / "report.css"
"""Shipped with the package: the reading order, the certificate's print layout."""


def add_stylesheet(config: pytest.Config) -> None:
    """Appended to pytest-html's `--css` list before pytest-html configures (this hook runs
    first): the page stays pytest-html's, our stylesheet orders it."""
    css = getattr(config.option, "css", None)
    if isinstance(css, list) and str(STYLESHEET) not in css:
        config.option.css = [*css, str(STYLESHEET)]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for name, description in markers().items():
        config.addinivalue_line("markers", f"{name}: {description}")
    if not is_qualification_run(config) or config.option.help or config.option.version:
        return  # --help and --version measure nothing: they must work before fio is installed
    options = read_options(config)
    add_stylesheet(config)
    created: list[Path] = []
    try:
        created = check_report_folders(config, options)  # before anything is opened or measured
        run = open_run(options)
    except QlabError as exc:
        remove_folders(created)  # a refused run leaves no report folder behind
        raise pytest.UsageError(str(exc)) from None
    config.add_cleanup(run.close)
    reports = ReportFiles.set_up(config, options, run.targets)
    if options.frametimes:  # checked even when only collecting, like the report folders
        try:
            run.frame_sink = reports.start_frametimes()
        except QlabError as exc:
            remove_folders(created)
            raise pytest.UsageError(str(exc)) from None
    config.pluginmanager.register(reports, "qlab-reports")
    history = _history(options)
    config.add_cleanup(history.close)
    plugin = QlabPlugin(config, run, reports, history)
    config.stash[SESSION_KEY] = run
    config.stash[HISTORY_KEY] = history
    config.pluginmanager.register(plugin, "qlab-run")
    config.add_cleanup(install_terminate_handlers())
    try:  # pytest-metadata may have configured before us, its hook then saw no run
        from pytest_metadata.plugin import metadata_key
    except ImportError:
        return
    if metadata_key in config.stash:
        describe_run(config.stash[metadata_key], run)


def _history(options: QlabOptions) -> RunHistory:
    try:
        location = resolve(options.history)
    except QlabError as exc:
        raise pytest.UsageError(f"--qlab-history: {exc}") from None
    return RunHistory(
        location, host=socket.gethostname(), qlab_version=__version__, date_utc=utc_now()
    )
