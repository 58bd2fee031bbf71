"""A result made once for the whole test run, however many xdist workers ask for it.

A session-scoped fixture runs once per worker: with four workers, a shared setup check whose
tests land on three of them ran three times. `once_per_run` makes it in the first worker that
asks, holding a lock in the folder all workers of the run share; the others wait for it and get
the pickled result (its files stay where the first worker made them, until the run's temp
folders are cleaned like any other). Without xdist it is a plain cache for the session.
"""

from __future__ import annotations

import fcntl
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

Made = TypeVar("Made")


def run_folder(factory: pytest.TempPathFactory) -> Path:
    """The base temp folder of the whole run: each xdist worker's own is a folder in it."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def once_per_run(factory: pytest.TempPathFactory, name: str, make: Callable[[Path], Made]) -> Made:
    """`make(folder)` in a new temp folder the first time any worker asks for `name`; what it
    returned, to every later ask. A `make` that fails leaves nothing: the next ask tries again."""
    root = run_folder(factory)
    made_file = root / f"once-{name}.pickle"
    with (root / f"once-{name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also on a failure
        if made_file.exists():
            loaded: Made = pickle.loads(made_file.read_bytes())
            return loaded
        made = make(factory.mktemp(name))
        made_file.write_bytes(pickle.dumps(made))
        return made
