"""Signed links: they verify, expire, resist tampering and die once they have served."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from itsdangerous.encoding import base64_decode
from itsdangerous.timed import TimestampSigner

from penpress.accounts import email_tokens, services
from penpress.errors import Invalid
from penpress.extensions import db
from tests.factories import DEFAULT_PASSWORD


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``later(seconds)``: verify tokens as if that much time had passed since signing."""

    def move(seconds: int) -> None:
        now = int(time.time()) + seconds
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now)

    return move


def message(error: pytest.ExceptionInfo[Invalid]) -> str:
    return error.value.details["token"][0]


def test_confirmation_token_names_its_user(ctx: None, make: Any) -> None:
    user = make.user()
    token = email_tokens.make_confirmation_token(user)
    assert email_tokens.user_for_confirmation(token).id == user.id


def test_confirmation_token_expires(ctx: None, make: Any, app: Any, later: Any) -> None:
    token = email_tokens.make_confirmation_token(make.user())
    later(app.config["EMAIL_CONFIRM_MAX_AGE"] - 60)
    email_tokens.user_for_confirmation(token)  # still fresh
    later(app.config["EMAIL_CONFIRM_MAX_AGE"] + 60)
    with pytest.raises(Invalid) as error:
        email_tokens.user_for_confirmation(token)
    assert message(error) == email_tokens.EXPIRED_CONFIRMATION


def test_tampered_confirmation_token_is_refused(ctx: None, make: Any) -> None:
    token = email_tokens.make_confirmation_token(make.user())
    payload, rest = token.split(".", 1)
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + rest
    for bad in (forged, token[:-3], "", "not-a-token", "x" * 5000):
        with pytest.raises(Invalid) as error:
            email_tokens.user_for_confirmation(bad)
        assert message(error) == email_tokens.INVALID_CONFIRMATION


def test_token_signed_with_another_key_is_refused(ctx: None, make: Any, app: Any) -> None:
    user = make.user()
    token = email_tokens.make_confirmation_token(user)
    original = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "another-secret-key-entirely-0123456789"
    try:
        with pytest.raises(Invalid):
            email_tokens.user_for_confirmation(token)
    finally:
        app.config["SECRET_KEY"] = original


def test_confirmation_token_dies_when_the_address_changes(ctx: None, make: Any) -> None:
    user = make.user()
    token = email_tokens.make_confirmation_token(user)
    services.request_email_change(user, "new-address@example.com", DEFAULT_PASSWORD)
    services.apply_email_change(user)
    with pytest.raises(Invalid):
        email_tokens.user_for_confirmation(token)


def test_tokens_do_not_cross_purposes(ctx: None, make: Any) -> None:
    user = make.user()
    with pytest.raises(Invalid):
        email_tokens.user_for_reset(email_tokens.make_confirmation_token(user))
    with pytest.raises(Invalid):
        email_tokens.user_for_confirmation(email_tokens.make_reset_token(user))


def test_reset_token_works_until_the_password_changes(ctx: None, make: Any) -> None:
    user = make.user()
    token = email_tokens.make_reset_token(user)
    assert email_tokens.user_for_reset(token).id == user.id
    assert email_tokens.user_for_reset(token).id == user.id  # looking does not use it up
    services.reset_password(user, "a-brand-new-password")
    with pytest.raises(Invalid) as error:
        email_tokens.user_for_reset(token)
    assert message(error) == email_tokens.INVALID_RESET


def test_reset_token_expires(ctx: None, make: Any, app: Any, later: Any) -> None:
    token = email_tokens.make_reset_token(make.user())
    later(app.config["PASSWORD_RESET_MAX_AGE"] + 60)
    with pytest.raises(Invalid) as error:
        email_tokens.user_for_reset(token)
    assert message(error) == email_tokens.EXPIRED_RESET


def test_tokens_of_deactivated_or_deleted_users_are_refused(ctx: None, make: Any) -> None:
    inactive = make.user(active=False)
    with pytest.raises(Invalid):
        email_tokens.user_for_reset(email_tokens.make_reset_token(inactive))
    gone = make.user()
    token = email_tokens.make_confirmation_token(gone)
    db.session.delete(gone)
    db.session.flush()
    with pytest.raises(Invalid):
        email_tokens.user_for_confirmation(token)


def test_reset_token_does_not_reveal_the_password_hash(ctx: None, make: Any, app: Any) -> None:
    user = make.user()
    token = email_tokens.make_reset_token(user)
    payload = json.loads(base64_decode(token.split(".")[0]))  # readable by anyone
    assert set(payload) == {"uid", "pw"}
    assert payload["pw"] not in user.password_hash  # a keyed digest, not a piece of the hash
    assert user.password_hash.split("$")[-1] not in token
