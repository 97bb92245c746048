"""Who may join, through every front door: the site's form, ``POST /api/v1/users`` and Conduit's
``POST /users``, under each registration policy; approval by an administrator; the default
role; and the ``REGISTRATION`` / ``DEFAULT_ROLE`` environment variables winning over the
saved settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from penpress import create_app
from penpress.accounts import services as accounts
from penpress.accounts.models import User
from penpress.config import InvalidConfiguration
from penpress.errors import Conflict, Forbidden
from penpress.extensions import db
from penpress.settings import services as settings
from tests.api.v1.conftest import issue_pair
from tests.factories import UserFactory
from tests.mailbox import links_in
from tests.pages import is_logged_in, login

PASSWORD = "a-long-password"
REALWORLD = "/realworld/api"


def set_policy(app: Flask, policy: str, default_role: str | None = None) -> None:
    """Save the site settings as an administrator does on /admin/settings."""
    with app.app_context():
        admin = UserFactory(role_name="admin", username=f"owner-{policy}")
        settings.set_registration_policy(admin, policy)
        if default_role is not None:
            settings.set_default_role(admin, default_role)
        db.session.commit()


def find(app: Flask, username: str) -> User | None:
    with app.app_context():
        return db.session.scalar(select(User).where(User.username == username))


def site_register(client: FlaskClient, username: str) -> Any:
    return client.post(
        "/auth/register",
        data={
            "username": username,
            "email": f"{username}@example.com",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
    )


def api_register(client: FlaskClient, username: str) -> Any:
    return client.post(
        "/api/v1/users",
        json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
    )


def conduit_register(client: FlaskClient, username: str) -> Any:
    return client.post(
        f"{REALWORLD}/users",
        json={"user": {"username": username, "email": f"{username}@example.com",
                       "password": PASSWORD}},
    )  # fmt: skip


FRONT_DOORS = {"site": site_register, "api": api_register, "conduit": conduit_register}


# --- open --------------------------------------------------------------------------------


@pytest.mark.parametrize("door", FRONT_DOORS)
def test_open_registration_makes_readers_by_default(
    app: Flask, client: FlaskClient, door: str
) -> None:
    response = FRONT_DOORS[door](client, "newcomer")
    assert response.status_code == {"site": 303, "api": 201, "conduit": 201}[door]
    user = find(app, "newcomer")
    assert user is not None
    assert (user.role.name, user.active, user.pending_approval) == ("reader", True, False)


def test_a_reader_comments_but_cannot_write(app: Flask, client: FlaskClient, make) -> None:
    post = make.post()
    site_register(client, "newcomer")
    assert client.get("/blog/create").status_code == 403
    spam = {"title": "Cheap pills here", "body": "Buy now", "published": "y"}
    assert client.post("/blog/create", data=spam).status_code == 403
    assert "Cheap pills" not in client.get("/").get_data(as_text=True)
    response = client.post(f"/blog/post/{post.slug}/comment", data={"body": "Lovely."})
    assert response.status_code == 303


def test_the_default_role_is_a_site_setting(app: Flask, client: FlaskClient) -> None:
    set_policy(app, "open", default_role="contributor")
    api_register(client, "writer")
    user = find(app, "writer")
    assert user is not None
    assert user.role.name == "contributor"


# --- approval ----------------------------------------------------------------------------


@pytest.mark.parametrize("door", FRONT_DOORS)
def test_under_approval_new_accounts_wait_and_cannot_log_in(
    app: Flask, client: FlaskClient, door: str, outbox: list[Any]
) -> None:
    set_policy(app, "approval")
    response = FRONT_DOORS[door](client, "hopeful")
    user = find(app, "hopeful")
    assert user is not None
    assert (user.active, user.pending_approval) == (False, True)
    if door == "site":
        assert response.status_code == 303
        assert escape(accounts.AWAITING_APPROVAL) in client.get("/").get_data(as_text=True)
        assert not is_logged_in(client)
    elif door == "api":
        assert response.status_code == 201
        body = response.get_json()
        assert (body["active"], body["pending_approval"]) == (False, True)
    else:  # Conduit has no "wait": an error in its own shape, the account kept
        assert response.status_code == 403
        assert response.get_json() == {"errors": {"body": [accounts.AWAITING_APPROVAL]}}
    # The administrators are told; the applicant may confirm their address meanwhile.
    subjects = {message.subject for message in outbox}
    assert "hopeful asks to join" in subjects
    assert "Confirm your email address" in subjects

    refused = login(client, "hopeful@example.com", PASSWORD)
    assert refused.status_code == 422
    assert escape(accounts.AWAITING_APPROVAL) in refused.get_data(as_text=True)
    tokens = client.post(
        "/api/v1/auth/tokens", json={"email": "hopeful@example.com", "password": PASSWORD}
    )
    assert tokens.status_code == 403
    conduit = client.post(
        f"{REALWORLD}/users/login",
        json={"user": {"email": "hopeful@example.com", "password": PASSWORD}},
    )
    assert conduit.status_code == 403


def test_an_admin_approves_from_the_users_page(
    app: Flask, client: FlaskClient, make, outbox: list[Any]
) -> None:
    set_policy(app, "approval")
    site_register(app.test_client(), "hopeful")
    outbox.clear()
    admin = make.user(role_name="admin")
    login(client, admin.email)
    page = client.get("/admin/users").get_data(as_text=True)
    assert "Waiting for approval" in page
    assert 'action="/admin/users/hopeful/approve"' in page
    assert 'action="/admin/users/hopeful/reject"' in page

    assert client.post("/admin/users/hopeful/approve").status_code == 303
    user = find(app, "hopeful")
    assert user is not None
    assert (user.active, user.pending_approval) == (True, False)
    (message,) = outbox
    assert message.to == ["hopeful@example.com"]
    assert message.subject == "Your account has been approved"
    assert links_in(message) == ["http://localhost/auth/login"]
    assert login(app.test_client(), "hopeful@example.com", PASSWORD).status_code == 303
    # Approving twice is a conflict, not a silent success.
    assert client.post("/admin/users/hopeful/approve").status_code == 409


def test_an_admin_rejects_and_the_account_is_gone(app: Flask, client: FlaskClient, make) -> None:
    set_policy(app, "approval")
    site_register(app.test_client(), "spammer")
    login(client, make.user(role_name="admin").email)
    assert client.post("/admin/users/spammer/reject").status_code == 303
    assert find(app, "spammer") is None
    # Only accounts waiting for approval can be rejected this way.
    other = make.user(username="regular")
    assert client.post(f"/admin/users/{other.username}/reject").status_code == 409
    assert find(app, "regular") is not None


def test_approval_through_the_api(app: Flask, client: FlaskClient, make) -> None:
    set_policy(app, "approval")
    api_register(client, "hopeful")
    api_register(client, "spammer")
    token = issue_pair(app, make.user(role_name="admin")).access_token
    headers = {"Authorization": f"Bearer {token}"}
    approved = client.patch("/api/v1/users/hopeful", json={"active": True}, headers=headers)
    assert approved.status_code == 200
    assert (approved.get_json()["active"], approved.get_json()["pending_approval"]) == (
        True,
        False,
    )
    assert client.delete("/api/v1/users/spammer", headers=headers).status_code == 204
    assert find(app, "spammer") is None


def test_only_admins_approve(app: Flask, make) -> None:
    set_policy(app, "approval")
    with app.app_context():
        waiting = UserFactory(active=False, pending_approval=True)
        for role in ("editor", "moderator"):
            with pytest.raises(Forbidden):
                accounts.approve_user(UserFactory(role_name=role), waiting)


# --- invite and closed -------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["invite", "closed"])
@pytest.mark.parametrize("door", FRONT_DOORS)
def test_invite_only_and_closed_sites_refuse_sign_ups(
    app: Flask, client: FlaskClient, door: str, policy: str
) -> None:
    set_policy(app, policy)
    message = (
        accounts.REGISTRATION_BY_INVITE if policy == "invite" else accounts.REGISTRATION_CLOSED
    )
    page = client.get("/auth/register")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert escape(message) in html
    assert 'name="password_confirm"' not in html  # no form to fill in for nothing

    response = FRONT_DOORS[door](client, "stranger")
    assert response.status_code == 403
    if door == "api":
        assert response.get_json()["error"]["message"] == message
    elif door == "conduit":
        assert response.get_json() == {"errors": {"body": [message]}}
    else:
        assert escape(message) in response.get_data(as_text=True)
    assert find(app, "stranger") is None


def test_the_settings_page_chooses_the_policy_and_default_role(
    app: Flask, client: FlaskClient, make
) -> None:
    login(client, make.user(role_name="admin").email)
    html = client.get("/admin/settings").get_data(as_text=True)
    assert '<option selected value="open">' in html or 'value="open" selected' in html
    response = client.post(
        "/admin/settings",
        data={"registration": "invite", "default_role": "contributor",
              "comments_mode": "approval"},
    )  # fmt: skip
    assert response.status_code == 303
    with app.app_context():
        assert settings.registration_policy() == "invite"
        assert settings.default_role() == "contributor"
        assert settings.comments_require_approval()
        assert not settings.email_confirmation_required()
    bad = client.post("/admin/settings", data={"registration": "sometimes"})
    assert bad.status_code == 422
    assert "Choose one of: open, approval, invite, closed." in bad.get_data(as_text=True)


# --- environment overrides -----------------------------------------------------------------


def test_environment_variables_win_over_the_saved_settings(
    app: Flask, client: FlaskClient, make, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_policy(app, "closed", default_role="reader")
    monkeypatch.setitem(app.config, "REGISTRATION", "open")
    monkeypatch.setitem(app.config, "DEFAULT_ROLE", "author")
    assert conduit_register(client, "jake").status_code == 201
    user = find(app, "jake")
    assert user is not None
    assert user.role.name == "author"

    admin = make.user(role_name="admin")
    login(client, admin.email)
    html = client.get("/admin/settings").get_data(as_text=True)
    assert "Set by the REGISTRATION environment variable" in html
    assert "Set by the DEFAULT_ROLE environment variable" in html
    # The form cannot change them while the variables are set (disabled fields send nothing).
    assert client.post("/admin/settings", data={}).status_code == 303
    with app.app_context():
        with pytest.raises(Conflict):
            settings.set_registration_policy(db.session.merge(admin), "invite")
        assert settings.registration_policy() == "open"
    # Once the variables are gone, the saved settings apply again.
    monkeypatch.setitem(app.config, "REGISTRATION", None)
    monkeypatch.setitem(app.config, "DEFAULT_ROLE", None)
    with app.app_context():
        assert (settings.registration_policy(), settings.default_role()) == ("closed", "reader")


@pytest.fixture
def env_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``env_app(**variables)``: an app built from the environment, as gunicorn builds one,
    with its own SQLite database."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PENPRESS_CONFIG", "development")
    monkeypatch.setenv("PENPRESS_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    for name in ("REGISTRATION", "DEFAULT_ROLE", "SECRET_KEY", "SITE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    built: list[Flask] = []

    def build(**variables: str) -> Flask:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        app = create_app()
        with app.app_context():
            db.create_all()
            accounts.ensure_roles()
            db.session.commit()
        built.append(app)
        return app

    yield build
    for app in built:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_registration_and_default_role_come_from_the_environment(env_app: Any) -> None:
    app = env_app(REGISTRATION="Open", DEFAULT_ROLE="author")
    assert (app.config["REGISTRATION"], app.config["DEFAULT_ROLE"]) == ("open", "author")
    with app.app_context():
        # What an earlier admin saved, before the variable was set (past the service's check,
        # which refuses a value the variable fixes).
        settings._save(UserFactory(role_name="admin"), {settings.REGISTRATION: "closed"})
        db.session.commit()
        assert settings.registration_policy() == "open"
        assert settings.locked_by_environment() == {
            settings.REGISTRATION: "REGISTRATION",
            settings.DEFAULT_ROLE: "DEFAULT_ROLE",
        }
        user = accounts.register_user("jake", "jake@example.com", PASSWORD)
        assert user.role.name == "author"


def test_without_the_variables_the_saved_settings_apply(env_app: Any) -> None:
    app = env_app()
    assert (app.config["REGISTRATION"], app.config["DEFAULT_ROLE"]) == (None, None)
    with app.app_context():
        assert (settings.registration_policy(), settings.default_role()) == ("open", "reader")
        settings.set_registration_policy(UserFactory(role_name="admin"), "invite")
        assert settings.registration_policy() == "invite"


@pytest.mark.parametrize(
    ("variable", "value"), [("REGISTRATION", "sometimes"), ("DEFAULT_ROLE", "emperor")]
)
def test_unknown_values_stop_the_app_from_starting(env_app: Any, variable: str, value: str) -> None:
    with pytest.raises(InvalidConfiguration, match=f"{variable}='{value}' is not one of"):
        env_app(**{variable: value})
