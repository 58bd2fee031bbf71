"""Where the plugin keeps a run's state in pytest's stash, never in module globals."""

from __future__ import annotations

import pytest

from pytest_qlab.core.evidence import MetadataValue
from pytest_qlab.core.rows import ReportRow
from pytest_qlab.core.session import QlabSession
from pytest_qlab.history.run import RunHistory

SUITE_FLAG = "QLAB_SUITES"
"""A conftest setting this to True makes a pytest run a qualification run."""
SESSION_KEY = pytest.StashKey[QlabSession]()
ITEM_METADATA_KEY = pytest.StashKey[dict[str, MetadataValue]]()
"""What an item measured, for its JSON metadata and its HTML row."""
ITEM_ROW_KEY = pytest.StashKey[ReportRow]()
"""An item's line in the report's summary table, from the result it recorded."""
HISTORY_KEY = pytest.StashKey[RunHistory]()
"""The drive history as this run uses it."""
