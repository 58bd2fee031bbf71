"""Reads of the loosely typed values drive tools print (lsblk and smartctl JSON, diskutil plists):
a field of the wrong type or an empty one is unknown, never an error."""

from __future__ import annotations

from typing import Any


def clean_text(value: Any) -> str | None:
    """A string with its surrounding white space trimmed; None when empty or not a string."""
    return (value.strip() or None) if isinstance(value, str) else None
