"""Every host measures in its own thread; each fio run a host asks for waits until every host
still measuring has asked for its own, and then all of them go to fio in one client run. A host
whose measurement needs fewer runs (a capacity search that stops sooner) simply drops out of
the later rounds."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TypeVar

from pytest_qlab.fio.errors import FioError, FioInterruptedError
from pytest_qlab.fio.results import FioRun
from pytest_qlab.fleet.client import HostLostError, Submission

T = TypeVar("T")
Execute = Callable[[dict[str, Submission]], dict[str, FioRun | FioError]]


class Rounds:
    def __init__(self, execute: Execute) -> None:
        self._execute = execute
        self._condition = threading.Condition()
        self._active: set[str] = set()
        self._asked: dict[str, Submission] = {}
        self._answers: dict[str, FioRun | BaseException] = {}
        self._lost: dict[str, FioError] = {}
        self._stopped_by: str | None = None
        """Set when the run was interrupted: every host's waiting run ends with it."""
        self._local = threading.local()

    def inside(self) -> bool:
        """True in a host's measurement thread: its nested calls run directly."""
        return getattr(self._local, "host", None) is not None

    def lost(self, host: str) -> FioError | None:
        return self._lost.get(host)

    def together(self, calls: Mapping[str, Callable[[], T]]) -> dict[str, T | BaseException]:
        """Run each host's call at once; its result, or what it raised."""
        outcomes: dict[str, T | BaseException] = {}

        def work(host: str, call: Callable[[], T]) -> None:
            self._local.host = host
            try:
                outcomes[host] = call()
            except BaseException as exc:  # handed to that host's test, whatever it is
                outcomes[host] = exc
            finally:
                with self._condition:
                    self._active.discard(host)
                    self._condition.notify_all()

        threads = []
        with self._condition:
            self._active = set(calls)
        for host, call in calls.items():
            thread = threading.Thread(target=work, args=(host, call), name=f"qlab-{host}")
            threads.append(thread)
            thread.start()
        try:
            self._serve()
        except BaseException as exc:
            with self._condition:
                # wake every waiting host with the interruption, so no thread is left behind
                name = exc.signal_name if isinstance(exc, FioInterruptedError) else None
                self._stopped_by = name or type(exc).__name__
                self._asked.clear()
                self._condition.notify_all()
            for thread in threads:
                thread.join()
            raise
        for thread in threads:
            thread.join()
        return outcomes

    def _serve(self) -> None:
        """Whenever every active host has asked for a run, run them all in one go."""
        while True:
            with self._condition:
                self._condition.wait_for(
                    lambda: not self._active or set(self._asked) >= self._active
                )
                if not self._active:
                    return
                asked = dict(self._asked)
                self._asked.clear()
            answers = self._execute(asked)
            with self._condition:
                for host, answer in answers.items():
                    if isinstance(answer, HostLostError):
                        self._lost[host] = answer
                    self._answers[host] = answer
                self._condition.notify_all()

    def submit(self, host: str, submission: Submission) -> FioRun:
        """Called from a host's thread: blocks until its run, with everyone else's, is done."""
        lost = self._lost.get(host)
        if lost is not None:
            raise lost
        with self._condition:
            if self._stopped_by is None:
                self._asked[host] = submission
                self._condition.notify_all()
                self._condition.wait_for(
                    lambda: host in self._answers or self._stopped_by is not None
                )
            if self._stopped_by is not None and host not in self._answers:
                raise FioInterruptedError(None, self._stopped_by)
            answer = self._answers.pop(host)
        if isinstance(answer, BaseException):
            raise answer
        return answer
