"""The throwaway-server helpers: binaries found where Debian puts them, skip versus fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import servers
from tests.conftest import throwaway_server
from tests.skips import unavailable


def _missing() -> None:
    raise servers.ServerUnavailable("redis-server is not installed")


def test_a_missing_server_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with (
        pytest.raises(pytest.skip.Exception, match="redis-server is not installed"),
        throwaway_server(_missing),
    ):
        pass


def test_a_missing_server_fails_when_ci_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"), throwaway_server(_missing):
        pass


def test_postgres_binaries_are_found_outside_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for version in ("13", "16"):
        folder = tmp_path / version / "bin"
        folder.mkdir(parents=True)
        (folder / "initdb").touch()
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(servers, "POSTGRES_GLOB", str(tmp_path / "*" / "bin"))
    assert servers.find_postgres_bin("initdb") == str(tmp_path / "16" / "bin" / "initdb")
    assert servers.find_postgres_bin("no-such-tool") is None


def test_without_binaries_the_servers_say_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(servers, "POSTGRES_GLOB", str(tmp_path / "*" / "bin"))
    with pytest.raises(servers.ServerUnavailable, match="apt-get install postgresql"):
        servers.PostgresServer()
    with pytest.raises(servers.ServerUnavailable, match="apt-get install redis-server"):
        servers.RedisServer()


@pytest.mark.redis
def test_a_port_taken_before_the_first_start_is_replaced() -> None:
    import socket

    try:
        fresh = servers.RedisServer()
    except servers.ServerUnavailable as missing:
        unavailable(str(missing))
    squatter = socket.socket()
    try:
        squatter.bind(("127.0.0.1", fresh.port))  # another process got there first
        squatter.listen()
        taken = fresh.port
        fresh.start()
        assert fresh.running
        assert fresh.port != taken
    finally:
        squatter.close()
        fresh.destroy()


SKIPPING_TESTS = """
import pytest

def test_says_skip():
    pytest.skip("not here")

@pytest.fixture
def missing():
    pytest.skip("a fixture found nothing")

def test_with_a_skipping_fixture(missing):
    pass

@pytest.mark.skip_allowed_in_ci(reason="documented: this machine kind cannot run it")
def test_allowed_to_skip():
    pytest.skip("cannot run here")
"""


def test_any_skip_fails_when_ci_is_set(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only the servers: every skip, wherever it comes from, except a marked one."""
    pytester.makeconftest("from tests.skips import pytest_configure, pytest_runtest_makereport")
    pytester.makepyfile(SKIPPING_TESTS)
    monkeypatch.setenv("CI", "1")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, errors=1, skipped=1)
    result.stdout.fnmatch_lines(["*CI is set, so this test may not skip (Skipped: not here)*"])

    monkeypatch.delenv("CI")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(skipped=3)
