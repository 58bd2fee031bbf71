"""Measurements taken at most once per volume, failures too: several test items share one
measurement without repeating a slow or failing fio run. An interruption (Ctrl-C, SIGTERM) is
not remembered: it stops the run instead."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar, cast

T = TypeVar("T")


class Once:
    def __init__(self) -> None:
        self._results: dict[Hashable, object] = {}

    def __call__(self, key: Hashable, measure: Callable[[], T]) -> T:
        if key not in self._results:
            try:
                self._results[key] = measure()
            except Exception as exc:
                self._results[key] = exc
                raise
        result = self._results[key]
        if isinstance(result, Exception):
            raise result
        return cast(T, result)
