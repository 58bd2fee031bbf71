"""Why the history could not be used, in one sentence that names the store and what to do."""

from __future__ import annotations

from pytest_qlab.core.errors import QlabError


class HistoryError(QlabError):
    """The store is damaged, locked, read-only, full or unreachable; the message says which."""
