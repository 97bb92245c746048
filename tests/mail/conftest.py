"""Fixtures for the email and background-job tests."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from penpress.accounts import sessions
from penpress.accounts.models import SessionKind, User
from penpress.extensions import db

LINK = re.compile(r"https?://[^\s\"'<>]+")


@pytest.fixture
def outbox(app: Flask) -> Iterator[list[Any]]:
    """Messages sent through the locmem backend during the test."""
    state = app.extensions["mailman"]
    state.outbox = []
    yield state.outbox
    state.outbox = []


@pytest.fixture
def login(app: Flask) -> Callable[[FlaskClient, User], None]:
    """``login(client, user)``: give the client a live browser session for ``user``."""

    def log_in(client: FlaskClient, user: User) -> None:
        with app.app_context():
            secret, _ = sessions.start_session(
                db.session.merge(user), SessionKind.WEB, timedelta(hours=1)
            )
            db.session.commit()
        with client.session_transaction() as session:
            session["_user_id"] = secret
            session["_fresh"] = True

    return log_in


def links_in(message: Any) -> list[str]:
    """The absolute links in a message's plain-text body."""
    return LINK.findall(message.body)


def html_of(message: Any) -> str:
    """The HTML alternative of a message."""
    for content, mimetype in message.alternatives:
        if mimetype == "text/html":
            return str(content)
    raise AssertionError("the message has no HTML part")
