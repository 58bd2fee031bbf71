"""The fleet's pieces without a network: host addresses, the SSH preflight's reading of a host,
ssh's failures in words, one client run's report split per host, the log cut-back, and the
rounds that put every host's runs into one client run."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import pytest

from pytest_qlab.drive.commands import CommandResult
from pytest_qlab.fio.errors import FioError
from pytest_qlab.fio.jobs import FioJob, FioJobFile
from pytest_qlab.fio.results import FioResult, FioRun
from pytest_qlab.fio.stream import split_documents
from pytest_qlab.fleet.client import HostLostError, Submission, _host_run
from pytest_qlab.fleet.errors import HostError
from pytest_qlab.fleet.hosts import parse_host, parse_hosts
from pytest_qlab.fleet.logs import cut_back, lengthen
from pytest_qlab.fleet.preflight import check_fio, check_room, read_volume
from pytest_qlab.fleet.rounds import Rounds
from pytest_qlab.fleet.ssh import SshHost, connection_problem

FIXTURE = Path(__file__).parents[1] / "fixtures" / "fio" / "client_two_hosts.json"
"""A real `fio --client=127.0.0.1,18761 a.fio --client=127.0.0.1,18762 b.fio` report (3.33)."""


def test_a_host_address_names_user_host_port_and_path() -> None:
    target = parse_host("ssh://show@FOH-Mac.local:2222/Volumes/Show%202")
    assert target.user == "show"
    assert target.host == "FOH-Mac.local"  # ssh_config Host patterns see the case typed
    assert target.port == 2222
    assert target.path == PurePosixPath("/Volumes/Show 2")
    assert target.label == "FOH-Mac.local:2222"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("/Volumes/Show", "is not an ssh:// address"),
        ("ssh://foh/", "absolute folder"),
        ("ssh://foh", "absolute folder"),
        ("ssh://foh/Volumes/../etc", "absolute folder"),
        ("ssh://user:secret@foh/Volumes/Show", "never a password"),
        ("ssh://-oProxyCommand=x/Volumes/Show", "names no usable host"),
        ("ssh://foh:99999/Volumes/Show", "bad port"),
    ],
)
def test_a_bad_host_address_says_the_form(raw: str, problem: str) -> None:
    with pytest.raises(HostError, match=problem):
        parse_host(raw)


def test_a_host_volume_given_twice_is_refused() -> None:
    with pytest.raises(HostError, match="given twice"):
        parse_hosts(("ssh://a/Volumes/Show", "ssh://a/Volumes/Show"))


class CannedHost(SshHost):
    """Answers the preflight script with a recorded output instead of connecting."""

    def __init__(self, stdout: str, returncode: int | None = 0) -> None:
        super().__init__(parse_host("ssh://foh/Volumes/Show"))
        object.__setattr__(self, "_stdout", stdout)
        object.__setattr__(self, "_returncode", returncode)

    def run(
        self, argv: Sequence[str], timeout_s: float = 15.0, *, stdin: str = ""
    ) -> CommandResult:
        del timeout_s, stdin
        problem = None if self._returncode is not None else "cannot be reached over SSH (x)"
        stdout: str = self.__dict__["_stdout"]
        return CommandResult(tuple(argv), self._returncode, stdout, "", problem=problem)

    _stdout: str
    _returncode: int | None


GOOD_FACTS = """platform=Darwin
fio=fio-3.33
host=FOH-Mac
exists=1
directory=1
writable=1
real=/Volumes/Show
device_id=16777233
root_device_id=16777220
df=/dev/disk4s2 976000000 1000 500000000 1% /Volumes/Show
fstype=
"""


def test_the_preflight_reads_a_host_volume() -> None:
    facts = read_volume(CannedHost(GOOD_FACTS))
    assert facts.platform == "Darwin"
    assert facts.fio_version == "fio-3.33"
    assert facts.free_bytes == 500000000 * 1024
    assert facts.size_bytes == 976000000 * 1024
    assert facts.mount_point == PurePosixPath("/Volumes/Show")
    assert not facts.system_disk
    assert not facts.network_storage
    assert facts.filesystem is None


def test_a_mount_point_with_spaces_and_a_share_are_read_whole() -> None:
    text = GOOD_FACTS.replace(
        "df=/dev/disk4s2 976000000 1000 500000000 1% /Volumes/Show",
        "df=//show@nas/media 976000000 1000 500000000 1% /Volumes/Show Media",
    )
    facts = read_volume(CannedHost(text))
    assert facts.mount_point == PurePosixPath("/Volumes/Show Media")
    assert facts.network_storage
    assert facts.filesystem_source == "//show@nas/media"


@pytest.mark.parametrize(
    ("drop", "problem"),
    [
        ("exists=1\n", "does not exist"),
        ("directory=1\n", "is a file, not a folder"),
        ("writable=1\n", "is not writable"),
    ],
)
def test_a_bad_host_volume_is_refused_naming_the_host(drop: str, problem: str) -> None:
    with pytest.raises(HostError, match=problem) as raised:
        read_volume(CannedHost(GOOD_FACTS.replace(drop, "")))
    assert "host foh" in str(raised.value)


def test_a_device_is_refused() -> None:
    with pytest.raises(HostError, match="is a device"):
        read_volume(CannedHost(GOOD_FACTS + "device=1\n"))


def test_an_unreachable_host_is_one_line() -> None:
    with pytest.raises(HostError, match="host foh: cannot be reached"):
        read_volume(CannedHost("", returncode=None))


def test_fio_must_be_the_same_release_everywhere() -> None:
    facts = read_volume(CannedHost(GOOD_FACTS))
    check_fio(facts, "foh", "fio-3.33")
    with pytest.raises(HostError, match=r"runs fio-3.33 but this machine runs fio-3.41"):
        check_fio(facts, "foh", "fio-3.41")
    missing = read_volume(CannedHost(GOOD_FACTS.replace("fio=fio-3.33", "fio=")))
    with pytest.raises(HostError, match="has no fio on its PATH"):
        check_fio(missing, "foh", "fio-3.33")


def test_room_is_checked_with_the_margin() -> None:
    facts = read_volume(CannedHost(GOOD_FACTS))
    check_room(facts, "foh", 1000)
    with pytest.raises(HostError, match="free up space"):
        check_room(facts, "foh", facts.free_bytes)


@pytest.mark.parametrize(
    ("stderr", "words"),
    [
        ("root@127.0.0.1: Permission denied (publickey).", "the SSH key was refused"),
        ("ssh: connect to host 127.0.0.1 port 1: Connection refused", "cannot be reached"),
        ("ssh: Could not resolve hostname foh: Name or service not known", "not known"),
        ("Host key verification failed.", "host key"),
    ],
)
def test_ssh_failures_say_what_to_do(stderr: str, words: str) -> None:
    assert words in connection_problem(stderr)


def _submission(tmp_path: Path, port: int) -> Submission:
    job = FioJob(
        name="stream-01", filename="f.bin", rw="read", block_size_bytes=4096, size_bytes=4096
    )
    return Submission(FioJobFile(directory=tmp_path, jobs=(job,)), "x", tmp_path, port)


def test_a_client_report_is_split_by_port_never_by_the_all_clients_sum(tmp_path: Path) -> None:
    stream = split_documents(FIXTURE.read_text(encoding="utf-8"))
    (document,) = stream.documents
    first = _host_run(document, _submission(tmp_path, 18761), (), 0, 1.0, FIXTURE)
    second = _host_run(document, _submission(tmp_path, 18762), (), 0, 1.0, FIXTURE)
    assert isinstance(first, FioRun)
    assert isinstance(second, FioRun)
    assert [job.jobname for job in first.result.jobs] == ["stream-01"]
    assert first.result.read_bytes == 75497472
    all_clients = next(e for e in document["client_stats"] if e["jobname"] == "All clients")
    assert all_clients["read"]["io_bytes"] == first.result.read_bytes + second.result.read_bytes
    lost = _host_run(document, _submission(tmp_path, 9), (), 1, 1.0, FIXTURE)
    assert isinstance(lost, HostLostError)


def test_a_logged_job_runs_longer_and_is_cut_back_to_its_window(tmp_path: Path) -> None:
    prefix = tmp_path / "stream-01"
    job = FioJob(
        name="stream-01",
        filename="f.bin",
        rw="read",
        block_size_bytes=4096,
        size_bytes=40960,
        runtime_ms=1000,
        lat_log_prefix=str(prefix),
    )
    longer, cuts = lengthen(FioJobFile(directory=tmp_path, jobs=(job,)))
    assert longer.jobs[0].runtime_ms is not None
    assert longer.jobs[0].runtime_ms > 1000 / 0.8  # past what fio's client drops
    lines = [
        f"{time_ms}, 1000, 0, 4096, {index * 4096}, 0"
        for index, time_ms in enumerate(range(0, 1500, 100))
    ]
    log = tmp_path / "stream-01_lat.1.log"
    log.write_text("\n".join(lines) + "\n", encoding="ascii")
    result = FioResult.model_validate(
        {"jobs": [{"jobname": "stream-01", "read": {"io_bytes": 15 * 4096, "runtime": 1500}}]}
    )
    cut = cut_back(result, cuts).jobs[0].read
    assert cut.runtime_ms == 1000
    assert cut.total_ios == 11  # 0, 100, ..., 1000 ms
    assert cut.io_bytes == 11 * 4096
    assert len(log.read_text(encoding="ascii").splitlines()) == 11
    log.write_text("\n".join(lines[:5]) + "\n", encoding="ascii")  # ends at 400 ms
    with pytest.raises(FioError, match="came back incomplete"):
        cut_back(result, cuts)


def test_every_host_s_runs_go_to_fio_together(tmp_path: Path) -> None:
    """Host a needs two runs, host b one: the first round has both, the second a alone."""
    rounds_seen: list[list[str]] = []

    def execute(asked: dict[str, Submission]) -> dict[str, FioRun | FioError]:
        rounds_seen.append(sorted(asked))
        return {host: FioRun(FioResult(), (), (), 0, 0.0, tmp_path) for host in asked}

    rounds = Rounds(execute)
    submission = _submission(tmp_path, 1)
    threads_seen: set[str] = set()

    def measure(host: str, runs: int) -> int:
        threads_seen.add(threading.current_thread().name)
        assert rounds.inside()
        for _ in range(runs):
            rounds.submit(host, submission)
        return runs

    outcomes = rounds.together({"a": lambda: measure("a", 2), "b": lambda: measure("b", 1)})
    assert outcomes == {"a": 2, "b": 1}
    assert rounds_seen == [["a", "b"], ["a"]]
    assert len(threads_seen) == 2
    assert not rounds.inside()


def test_a_host_lost_in_a_round_fails_its_later_runs_at_once(tmp_path: Path) -> None:
    def execute(asked: dict[str, Submission]) -> dict[str, FioRun | FioError]:
        return {
            host: HostLostError("gone")
            if host == "a"
            else FioRun(FioResult(), (), (), 0, 0, tmp_path)
            for host in asked
        }

    rounds = Rounds(execute)
    submission = _submission(tmp_path, 1)
    outcomes = rounds.together(
        {"a": lambda: rounds.submit("a", submission), "b": lambda: rounds.submit("b", submission)}
    )
    assert isinstance(outcomes["a"], HostLostError)
    assert isinstance(outcomes["b"], FioRun)
    assert rounds.lost("a") is not None
    with pytest.raises(HostLostError):
        rounds.submit("a", submission)


def test_a_host_s_status_snapshots_become_its_documents_in_order(tmp_path: Path) -> None:
    """With --status-interval the client appends each job's snapshots to client_stats: the
    k-th entry of a job is its k-th document, the last its final report."""

    def entry(port: int, io_bytes: int, runtime_ms: int) -> dict[str, object]:
        read = {"io_bytes": io_bytes, "runtime": runtime_ms}
        return {"jobname": "sustained", "port": port, "read": read}

    document = {
        "fio version": "fio-3.33",
        "client_stats": [
            entry(1, 100, 1000),
            entry(2, 999, 1000),
            entry(1, 250, 2000),
            {"jobname": "All clients", "port": 1, "read": {"io_bytes": 1349}},
            entry(1, 400, 3000),
        ],
    }
    run = _host_run(document, _submission(tmp_path, 1), (), 0, 3.0, FIXTURE)
    assert isinstance(run, FioRun)
    assert [snapshot.read_bytes for snapshot in run.snapshots] == [100, 250]
    assert run.result.read_bytes == 400
