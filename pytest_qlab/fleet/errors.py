"""Failures of a fleet host, each one line that names the host and says what to do."""

from __future__ import annotations

from pytest_qlab.core.errors import QlabError


class HostError(QlabError):
    """A host that cannot take part: unreachable, key refused, no fio, a bad path."""
