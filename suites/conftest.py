"""Marks this folder as qualification suites: pytest-qlab becomes active for runs that load it."""

from __future__ import annotations

QLAB_SUITES = True
