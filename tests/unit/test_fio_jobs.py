from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from pytest_qlab.fio.jobs import FioJob, FioJobFile, platform_engine


def _job(**overrides: Any) -> FioJob:
    values: dict[str, Any] = {
        "name": "sequential-read",
        "filename": "read.bin",
        "rw": "read",
        "block_size_bytes": 1024 * 1024,
        "size_bytes": 64 * 1024 * 1024,
    }
    values.update(overrides)
    return FioJob(**values)


def test_render_minimal_job() -> None:
    assert _job().render() == (
        "[sequential-read]\n"
        "filename=read.bin\n"
        "rw=read\n"
        "bs=1048576\n"
        "size=67108864\n"
        "iodepth=1\n"
        "direct=1\n"
    )


@pytest.mark.parametrize(
    "filename",
    [
        "/Volumes/Show/read.bin",
        "Show #2.bin",
        "cue;1.bin",
        "a:b.bin",
        "${HOME}.bin",
        "a\nb.bin",
        "",
    ],
)
def test_file_names_fio_would_misread_are_rejected(filename: str) -> None:
    """fio reads '#'/';' as a comment, ':' as a separator and '${..}' as a variable: a path such
    as "/Volumes/Show #2" would make it write outside the scratch folder. Names stay relative."""
    with pytest.raises(ValidationError, match="filename"):
        _job(filename=filename)


def test_job_file_keeps_the_directory_out_of_the_text(tmp_path: Path) -> None:
    directory = tmp_path / "Show #2; cue:1"
    text = FioJobFile(directory=directory, jobs=(_job(),)).render()

    assert str(directory) not in text
    assert "filename=read.bin\n" in text


def test_render_time_based_rate_and_fsync() -> None:
    text = _job(
        rw="write", iodepth=8, runtime_ms=8000, rate_bytes_s=60_000_000, end_fsync=True
    ).render()
    lines = text.splitlines()

    assert "rw=write" in lines
    assert "iodepth=8" in lines
    assert "time_based=1" in lines
    assert "runtime=8000ms" in lines
    # A plain integer: fio reads "60M" as MiB/s, not MB/s.
    assert "rate=60000000" in lines
    assert "end_fsync=1" in lines


def test_render_without_optional_settings_omits_them() -> None:
    text = _job(direct=False).render()

    assert "direct=0" in text.splitlines()
    for absent in ("time_based", "runtime=", "rate=", "end_fsync"):
        assert absent not in text


def test_job_file_has_global_engine_and_every_job() -> None:
    job_file = FioJobFile(
        directory=Path("/tmp"),
        jobs=(_job(name="a"), _job(name="b", rw="write")),
        ioengine="posixaio",
    )

    text = job_file.render()

    assert text.startswith("; written by pytest-qlab\n[global]\nioengine=posixaio\n\n")
    assert text.index("[a]") < text.index("[b]")
    assert text.count("filename=") == 2


def test_job_file_defaults_to_the_platform_engine() -> None:
    assert FioJobFile(directory=Path("/tmp"), jobs=(_job(),)).ioengine == platform_engine()


def test_job_file_needs_a_job() -> None:
    with pytest.raises(ValidationError):
        FioJobFile(directory=Path("/tmp"), jobs=())


@pytest.mark.parametrize(
    ("platform_name", "engine"),
    [
        ("darwin", "posixaio"),
        ("linux", "libaio"),
        ("linux2", "libaio"),
        ("win32", "psync"),
        ("freebsd14", "psync"),
    ],
)
def test_platform_engine(platform_name: str, engine: str) -> None:
    assert platform_engine(platform_name) == engine


@pytest.mark.parametrize("block_size", [4097, 1000, 1024 * 1024 + 512])
def test_block_size_must_be_a_multiple_of_4096(block_size: int) -> None:
    with pytest.raises(ValidationError, match="multiple of 4096"):
        _job(block_size_bytes=block_size)


@pytest.mark.parametrize("name", ["sequential read", "a/b", "x;y", ""])
def test_job_name_must_be_plain(name: str) -> None:
    with pytest.raises(ValidationError, match="name"):
        _job(name=name)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("iodepth", 0),
        ("iodepth", 257),
        ("size_bytes", 0),
        ("block_size_bytes", 0),
        ("runtime_ms", 0),
        ("rate_bytes_s", -1),
        ("rw", "randread"),
    ],
)
def test_out_of_range_values_are_rejected(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        _job(**{field: value})


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="numjobs"):
        _job(numjobs=4)


def test_jobs_are_frozen() -> None:
    job = _job()

    with pytest.raises(ValidationError):
        job.iodepth = 4
