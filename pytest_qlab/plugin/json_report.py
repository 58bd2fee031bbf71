"""pytest-json-report's environment table, filled from pytest-metadata."""

from __future__ import annotations

from typing import Any

import pytest


def add_environment(json_report: dict[str, Any], config: pytest.Config) -> None:
    if json_report.get("environment"):
        return
    # pytest-metadata 3 keeps its table in the stash, where pytest-json-report does not look.
    try:
        from pytest_metadata.plugin import metadata_key
    except ImportError:
        return
    json_report["environment"] = dict(config.stash.get(metadata_key, {}))
