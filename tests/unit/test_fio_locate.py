"""locate_fio and its helpers, with tiny shell scripts standing in for fio."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_qlab.fio.errors import FioError, FioNotFoundError
from pytest_qlab.fio.runner import (
    FIO_ENV_VAR,
    bundled_name,
    install_hint,
    locate_fio,
    probe_binary,
)


def _fake_fio(directory: Path, name: str, version_output: str, exit_code: int = 0) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / name
    script.write_text(
        f"#!/bin/sh\nprintf '%s\\n' '{version_output}'\nexit {exit_code}\n", encoding="utf-8"
    )
    script.chmod(0o755)
    return script


@pytest.fixture
def empty_dir(tmp_path: Path) -> Path:
    path = tmp_path / "empty"
    path.mkdir()
    return path


def test_explicit_path_that_does_not_exist(tmp_path: Path, empty_dir: Path) -> None:
    missing = tmp_path / "nowhere" / "fio"

    with pytest.raises(FioNotFoundError) as caught:
        locate_fio(str(missing), environ={"PATH": str(empty_dir)}, bin_dir=empty_dir)

    message = str(caught.value)
    assert "--fio" in message
    assert str(missing) in message
    assert message.endswith("check the path given")


def test_explicit_path_wins_over_environment(tmp_path: Path) -> None:
    explicit = _fake_fio(tmp_path / "a", "fio", "fio-3.40")
    from_env = _fake_fio(tmp_path / "b", "fio", "fio-3.20")

    found = locate_fio(
        str(explicit), environ={FIO_ENV_VAR: str(from_env)}, bin_dir=tmp_path / "none"
    )

    assert found.path == explicit.resolve()
    assert found.version == (3, 40)


def test_environment_variable_is_honoured(tmp_path: Path, empty_dir: Path) -> None:
    fio = _fake_fio(tmp_path / "custom", "my-fio", "fio-3.33")

    found = locate_fio(environ={FIO_ENV_VAR: str(fio), "PATH": str(empty_dir)}, bin_dir=empty_dir)

    assert found.path == fio.resolve()
    assert found.version == (3, 33)
    assert found.version_text == "fio-3.33"


def test_environment_variable_pointing_nowhere(tmp_path: Path, empty_dir: Path) -> None:
    with pytest.raises(FioNotFoundError, match=rf"\${FIO_ENV_VAR} does not exist") as caught:
        locate_fio(environ={FIO_ENV_VAR: str(tmp_path / "gone")}, bin_dir=empty_dir)

    assert str(caught.value).endswith(f"fix or unset ${FIO_ENV_VAR}")


def test_bundled_binary_is_preferred_over_path(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bundled = _fake_fio(bin_dir, bundled_name(), "fio-3.35")
    path_dir = tmp_path / "path"
    _fake_fio(path_dir, "fio", "fio-3.33")

    found = locate_fio(environ={"PATH": str(path_dir)}, bin_dir=bin_dir)

    assert found.path == bundled.resolve()
    assert found.version == (3, 35)


def test_fio_on_path_when_nothing_else(tmp_path: Path, empty_dir: Path) -> None:
    path_dir = tmp_path / "path"
    on_path = _fake_fio(path_dir, "fio", "fio-3.33")

    found = locate_fio(environ={"PATH": str(path_dir)}, bin_dir=empty_dir)

    assert found.path == on_path.resolve()


def test_too_old_fio_is_refused(tmp_path: Path, empty_dir: Path) -> None:
    old = _fake_fio(tmp_path, "fio", "fio-2.2.10")

    with pytest.raises(FioNotFoundError, match=r"fio-2\.2\.10, older than the fio-3\.16") as caught:
        locate_fio(str(old), environ={}, bin_dir=empty_dir)

    assert install_hint() in str(caught.value)


def test_minor_version_compares_numerically(tmp_path: Path) -> None:
    # fio-3.2 is older than 3.16 even though "3.2" > "3.16" as text.
    with pytest.raises(FioNotFoundError, match="older than"):
        probe_binary(_fake_fio(tmp_path, "fio", "fio-3.2"), "test")


def test_garbage_version_output_is_not_fio(tmp_path: Path, empty_dir: Path) -> None:
    impostor = _fake_fio(tmp_path, "fio", "Flexible Widget Organizer 9")

    with pytest.raises(FioNotFoundError, match="is not fio") as caught:
        locate_fio(str(impostor), environ={}, bin_dir=empty_dir)

    assert "Flexible Widget Organizer 9" in str(caught.value)


def test_failing_version_command_is_not_fio(tmp_path: Path) -> None:
    broken = _fake_fio(tmp_path, "fio", "fio-3.33", exit_code=1)

    with pytest.raises(FioNotFoundError, match="is not fio"):
        probe_binary(broken, "test")


def test_non_executable_file_cannot_be_run(tmp_path: Path) -> None:
    plain = tmp_path / "fio"
    plain.write_text("not a program", encoding="utf-8")
    plain.chmod(0o644)

    with pytest.raises(FioNotFoundError, match="cannot be run"):
        probe_binary(plain, "test")


def test_missing_fio_says_how_to_install(empty_dir: Path) -> None:
    with pytest.raises(FioNotFoundError) as caught:
        locate_fio(environ={"PATH": str(empty_dir)}, bin_dir=empty_dir)

    message = str(caught.value)
    assert "not installed" in message
    assert "apt-get" in message or "brew" in message
    assert "--fio PATH" in message


def test_not_found_is_a_fio_error() -> None:
    assert issubclass(FioNotFoundError, FioError)


def test_install_hint_per_platform() -> None:
    assert "brew install fio" in install_hint("darwin")
    assert "apt-get install fio" in install_hint("linux")
    assert "brew" not in install_hint("linux")
    assert "apt-get" not in install_hint("darwin")


@pytest.mark.parametrize(
    ("platform_name", "machine", "expected"),
    [
        ("darwin", "arm64", "fio-darwin-arm64"),
        ("darwin", "x86_64", "fio-darwin-x86_64"),
        ("linux", "x86_64", "fio-linux-x86_64"),
        ("linux", "aarch64", "fio-linux-aarch64"),
        ("freebsd14", "amd64", "fio-freebsd-amd64"),
    ],
)
def test_bundled_name(platform_name: str, machine: str, expected: str) -> None:
    assert bundled_name(platform_name, machine) == expected
