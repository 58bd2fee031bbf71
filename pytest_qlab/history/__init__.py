"""The drive history: every qualification stored (SQLAlchemy Core; an embedded SQLite file in
the user's data folder by default, or a shared PostgreSQL), and each new run compared with the
drive's past. A history that cannot be used costs one warning, never a qualification."""

from __future__ import annotations
