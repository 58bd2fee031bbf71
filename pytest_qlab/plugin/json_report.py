"""Additions to pytest-json-report's document: the `qlab` block and the environment table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from pytest_qlab.core.session import QlabSession
from pytest_qlab.report.entries import TestEntry
from pytest_qlab.report.model import build_report


def add_qlab_block(
    json_report: dict[str, Any],
    session: QlabSession,
    config: pytest.Config,
    tests: Sequence[TestEntry] = (),
) -> None:
    json_report["qlab"] = build_report(session, tests).model_dump(mode="json")
    if not json_report.get("environment"):
        # pytest-metadata 3 keeps its table in the stash, where pytest-json-report does not look.
        try:
            from pytest_metadata.plugin import metadata_key
        except ImportError:
            return
        json_report["environment"] = dict(config.stash.get(metadata_key, {}))
