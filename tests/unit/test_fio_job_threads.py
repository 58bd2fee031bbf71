"""Jobs run as threads of one fio process wherever the engine allows, so killing fio stops them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_qlab.fio.jobs import FioJob, FioJobFile, IoEngine

JOB = FioJob(name="s", filename="s.bin", rw="read", block_size_bytes=4096, size_bytes=4096)


@pytest.mark.parametrize(
    ("engine", "threads"), [("libaio", True), ("psync", True), ("posixaio", False)]
)
def test_threads_except_with_posixaio(engine: IoEngine, threads: bool) -> None:
    """fio's job processes setsid() and outlive a killed fio; macOS's posixaio allows only 16
    requests per process, so there each job keeps its own process."""
    job_file = FioJobFile(directory=Path("/tmp"), jobs=(JOB,), ioengine=engine)

    assert job_file.uses_threads is threads
    assert ("thread=1" in job_file.render().splitlines()) is threads


def test_threads_can_be_chosen_explicitly() -> None:
    job_file = FioJobFile(directory=Path("/tmp"), jobs=(JOB,), ioengine="libaio", threads=False)

    assert "thread=1" not in job_file.render()
    assert job_file.render().startswith("; written by pytest-qlab\n[global]\nioengine=libaio\n\n")
