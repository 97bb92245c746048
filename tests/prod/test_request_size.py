"""Real chunked bodies, sent byte by byte to gunicorn (production config), at every front door.

A body sent with ``Transfer-Encoding: chunked`` has no Content-Length, so Werkzeug alone would
cut it at MAX_CONTENT_LENGTH and hand the view the first part (a 400 for JSON cut in half);
the app answers 413 instead, and reads a body within the limit whole. gunicorn decodes the
chunks here exactly as in production (nginx in front buffers and re-sends them with a length,
so this is the path of a gunicorn reached directly).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from penpress.extensions import db
from tests.conftest import test_settings as settings_for
from tests.prod.conftest import migrated_app, start_gunicorn

TEN_MB = 10 * 1024 * 1024


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes


@pytest.fixture(scope="module")
def gunicorn_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """One gunicorn worker serving the production config on SQLite."""
    folder = tmp_path_factory.mktemp("chunked")
    database = f"sqlite:///{folder / 'penpress.db'}"
    seeder = migrated_app(settings_for(folder, SQLALCHEMY_DATABASE_URI=database))
    with seeder.app_context():
        db.engine.dispose()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PENPRESS_", "PROMETHEUS_", "CELERY_", "MAIL_", "REDIS"))
    }
    env.update(
        PENPRESS_CONFIG="production",
        PENPRESS_INSTANCE_PATH=str(folder / "instance"),
        SECRET_KEY="chunked-body-test-secret-0123456789-abcdefghijkl",
        SITE_URL="http://127.0.0.1",
        DATABASE_URL=database,
    )
    server = start_gunicorn(env, folder, workers=1)
    try:
        server.wait_until_serving()
        yield server.port
    finally:
        server.stop()


def post_chunked(port: int, path: str, content_type: str, body: bytes) -> Reply:
    """POST ``body`` in 64 KiB chunks over a raw socket, then read the answer.

    The server may answer (and close) before the last chunk is out: sending then fails, and the
    answer is read from what already arrived.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        try:
            sock.sendall(head.encode())
            for start in range(0, len(body), 64 * 1024):
                piece = body[start : start + 64 * 1024]
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        response = http.client.HTTPResponse(sock)
        response.begin()
        return Reply(response.status, response.getheader("Content-Type", ""), response.read())
    finally:
        sock.close()


def login_body(door: str, password: str) -> tuple[str, str, bytes]:
    """(path, content type, body) of a login through ``door``."""
    if door == "site":
        form = f"email=nobody%40example.com&password={password}".encode()
        return "/auth/login", "application/x-www-form-urlencoded", form
    credentials = {"email": "nobody@example.com", "password": password}
    if door == "v1":
        return "/api/v1/auth/tokens", "application/json", json.dumps(credentials).encode()
    wrapped = json.dumps({"user": credentials}).encode()
    return "/realworld/api/users/login", "application/json", wrapped


@pytest.mark.parametrize(
    ("door", "content_type"),
    [("site", "text/html"), ("v1", "application/json"), ("conduit", "application/json")],
)
def test_ten_chunked_megabytes_are_413(gunicorn_port: int, door: str, content_type: str) -> None:
    path, sent_as, body = login_body(door, "x" * TEN_MB)
    reply = post_chunked(gunicorn_port, path, sent_as, body)
    assert reply.status == 413, reply.body[:300]
    assert reply.content_type.startswith(content_type)
    assert b"too large" in reply.body


@pytest.mark.parametrize(("door", "status"), [("v1", 401), ("conduit", 401)])
def test_a_chunked_body_within_the_limit_is_read_whole(
    gunicorn_port: int, door: str, status: int
) -> None:
    """A wrong password sent in several chunks: the JSON is parsed whole (a cut one would be
    400) and checked."""
    path, sent_as, body = login_body(door, "p" * 150_000)
    reply = post_chunked(gunicorn_port, path, sent_as, body)
    assert reply.status == status, reply.body[:300]
