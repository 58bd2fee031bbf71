"""pytest-qlab: qualify a drive for QLab ProRes playback with pytest and fio."""

from __future__ import annotations

__version__ = "0.1.0"
