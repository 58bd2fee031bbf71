"""A host's fio runner: the same interface as a local FioRunner, so every measurement runs
unchanged on a fleet host, but each run joins the round of every host's runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pytest_qlab.fio.jobs import FioJobFile
from pytest_qlab.fio.results import FioRun
from pytest_qlab.fio.runner import FioBinary, FioRunner, StatusCallback
from pytest_qlab.fleet.client import Submission
from pytest_qlab.fleet.logs import cut_back, lengthen
from pytest_qlab.fleet.rounds import Rounds


class HostRunner(FioRunner):
    def __init__(
        self, fio: FioBinary, work_dir: Path, rounds: Rounds, host: str, port: int
    ) -> None:
        super().__init__(fio, work_dir)
        self.rounds = rounds
        self.host = host
        self.port = port

    def run(
        self,
        job_file: FioJobFile,
        *,
        label: str,
        status_interval_s: int | None = None,
        on_status: StatusCallback | None = None,
        hang_timeout_s: float | None = None,
    ) -> FioRun:
        """fio's client reports once, at the end: a status callback gets each status snapshot
        then, in order, and the final report last."""
        del hang_timeout_s  # the host's SSH session watches for a dead host
        if job_file.readonly:
            raise ValueError("read-only media replays run on this machine's volumes only")
        if not self.rounds.inside():
            # a measurement of this host alone (the integrity check): a round of its own
            outcome = self.rounds.together(
                {
                    self.host: lambda: self.run(
                        job_file,
                        label=label,
                        status_interval_s=status_interval_s,
                        on_status=on_status,
                    )
                }
            )[self.host]
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome
        longer, cuts = lengthen(job_file)
        submission = Submission(longer, label, self.work_dir, self.port, status_interval_s)
        run = self.rounds.submit(self.host, submission)
        run = dataclasses.replace(run, result=cut_back(run.result, cuts))
        if on_status is not None:
            # fio's client hands a host's status snapshots back only at the end, in its report
            for snapshot in run.snapshots:
                on_status(snapshot)
            on_status(run.result)
            run = dataclasses.replace(run, snapshots=())
        return run
