"""The one base of every failure pytest-qlab explains to its user in a sentence."""

from __future__ import annotations


class QlabError(Exception):
    """A failure whose message says what went wrong and what to do; shown without a traceback
    (the plugin turns one raised while opening a run into a single pytest.UsageError)."""
