"""Unit conversions in one place, so "MB" always means 10**6 bytes."""

from __future__ import annotations

BYTES_PER_MB = 1_000_000
BYTES_PER_MIB = 1024 * 1024
BYTES_PER_GIB = 1024 * BYTES_PER_MIB
NS_PER_MS = 1_000_000


def bytes_to_mb(size_bytes: float) -> float:
    return size_bytes / BYTES_PER_MB


def format_bytes(size_bytes: float) -> str:
    """Human figure for messages: decimal units, as drive makers and Finder use."""
    for unit, factor in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if abs(size_bytes) >= factor:
            return f"{size_bytes / factor:.1f} {unit}"
    return f"{size_bytes:.0f} B"
