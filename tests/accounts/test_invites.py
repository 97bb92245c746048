"""Invitations: created on /admin/invites, emailed as a single-use link, accepted with a form
(or ``POST /api/v1/users`` with the token); expired, used, withdrawn or mis-addressed ones are
refused with a clear page, and nobody invites to a role above what they may grant."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from penpress.accounts import invites
from penpress.accounts.models import Invite, User
from penpress.database import utcnow
from penpress.errors import Conflict, Forbidden
from penpress.extensions import db
from penpress.settings import services as settings
from tests.factories import UserFactory
from tests.html_dom import parse
from tests.mailbox import html_of, links_in
from tests.pages import audit_markup, is_logged_in, login

PASSWORD = "a-long-password"


def invite_by_form(client: FlaskClient, email: str, role: str) -> Any:
    return client.post("/admin/invites", data={"email": email, "role": role})


def the_invite(app: Flask, email: str) -> Invite:
    with app.app_context():
        found = db.session.scalar(
            select(Invite).where(Invite.email == email).order_by(Invite.id.desc())
        )
        assert found is not None
        return found


def accept_path(message: Any) -> str:
    (link,) = links_in(message)
    assert link.startswith("http://localhost/auth/invite/")
    return link.removeprefix("http://localhost")


def accept(client: FlaskClient, path: str, username: str = "invited") -> Any:
    return client.post(
        path, data={"username": username, "password": PASSWORD, "password_confirm": PASSWORD}
    )


def listed(client: FlaskClient, email: str) -> bool:
    """Whether /admin/invites lists a pending invitation for ``email``."""
    return f'<th scope="row">{email}</th>' in client.get("/admin/invites").get_data(as_text=True)


def find(app: Flask, username: str) -> User | None:
    with app.app_context():
        return db.session.scalar(select(User).where(User.username == username))


@pytest.fixture
def admin_client(client: FlaskClient, make) -> FlaskClient:
    login(client, make.user(role_name="admin", username="owner").email)
    return client


def test_an_admin_invites_and_the_invitee_joins_with_that_role(
    app: Flask, admin_client: FlaskClient, outbox: list[Any]
) -> None:
    response = invite_by_form(admin_client, "New.Editor@Example.com", "editor")
    assert response.status_code == 303
    (message,) = outbox
    assert message.to == ["new.editor@example.com"]
    assert message.subject == "You are invited to join Penpress"
    assert "owner invites you to join Penpress as editor" in message.body
    path = accept_path(message)
    assert path.removeprefix("/auth/invite/") in html_of(message)

    # The invitation is listed until it is used.
    assert listed(admin_client, "new.editor@example.com") is True

    newcomer = app.test_client()
    page = newcomer.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    audit_markup(html)
    assert "new.editor@example.com" in html
    # The address is the invited one: the invitation's form has no field for it (the footer's
    # newsletter sign-up has its own).
    (form,) = [f for f in parse(html).iter("form") if "action" not in f.attrs]  # posts here
    assert [i.attrs["name"] for i in form.iter("input")] == [
        "csrf_token", "username", "password", "password_confirm",
    ]  # fmt: skip
    response = accept(newcomer, path)
    assert response.status_code == 303
    assert is_logged_in(newcomer)
    user = find(app, "invited")
    assert user is not None
    assert (user.email, user.role.name, user.active) == ("new.editor@example.com", "editor", True)
    assert user.email_confirmed_at is not None  # the link reached the address
    assert the_invite(app, user.email).accepted_at is not None
    assert listed(admin_client, "new.editor@example.com") is False


def test_an_invite_works_once(app: Flask, admin_client: FlaskClient, outbox: list[Any]) -> None:
    invite_by_form(admin_client, "once@example.com", "author")
    path = accept_path(outbox[0])
    assert accept(app.test_client(), path, "first").status_code == 303
    again = app.test_client()
    for response in (again.get(path), accept(again, path, "second")):
        assert response.status_code == 400
        assert escape(invites.USED_INVITE) in response.get_data(as_text=True)
    assert find(app, "second") is None


def test_an_expired_invite_is_refused(
    app: Flask, admin_client: FlaskClient, outbox: list[Any]
) -> None:
    assert app.config["INVITE_MAX_AGE"] == 7 * 24 * 60 * 60
    invite_by_form(admin_client, "late@example.com", "author")
    path = accept_path(outbox[0])
    with app.app_context():
        invite = db.session.get_one(Invite, the_invite(app, "late@example.com").id)
        assert invite.expires_at - invite.created_at == timedelta(days=7)
        invite.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = accept(app.test_client(), path)
    assert response.status_code == 400
    assert escape(invites.EXPIRED_INVITE) in response.get_data(as_text=True)
    assert find(app, "invited") is None


def test_a_withdrawn_invite_is_refused(
    app: Flask, admin_client: FlaskClient, outbox: list[Any]
) -> None:
    invite_by_form(admin_client, "maybe@example.com", "author")
    path = accept_path(outbox[0])
    invite = the_invite(app, "maybe@example.com")
    response = admin_client.post(f"/admin/invites/{invite.id}/revoke")
    assert response.status_code == 303
    assert listed(admin_client, "maybe@example.com") is False
    page = app.test_client().get(path)
    assert page.status_code == 400
    assert escape(invites.REVOKED_INVITE) in page.get_data(as_text=True)
    # Withdrawing twice is a conflict.
    assert admin_client.post(f"/admin/invites/{invite.id}/revoke").status_code == 409


def test_a_new_invite_for_the_same_address_replaces_the_old_one(
    app: Flask, admin_client: FlaskClient, outbox: list[Any]
) -> None:
    invite_by_form(admin_client, "twice@example.com", "reader")
    invite_by_form(admin_client, "twice@example.com", "author")
    old, new = (accept_path(message) for message in outbox)
    assert app.test_client().get(old).status_code == 400
    assert accept(app.test_client(), new).status_code == 303
    user = find(app, "invited")
    assert user is not None
    assert user.role.name == "author"


def test_a_mangled_link_is_refused_clearly(
    app: Flask, admin_client: FlaskClient, outbox: list[Any]
) -> None:
    invite_by_form(admin_client, "typo@example.com", "author")
    path = accept_path(outbox[0])
    for broken in (path[:-3], "/auth/invite/nonsense", "/auth/invite/" + "x" * 2000):
        response = app.test_client().get(broken)
        assert response.status_code == 400
        assert escape(invites.INVALID_INVITE) in response.get_data(as_text=True)


def test_the_invited_address_cannot_be_swapped_through_the_api(
    app: Flask, admin_client: FlaskClient, outbox: list[Any]
) -> None:
    invite_by_form(admin_client, "right@example.com", "contributor")
    token = accept_path(outbox[0]).removeprefix("/auth/invite/")
    client = app.test_client()
    body = {"username": "api-user", "password": PASSWORD, "invite_token": token}
    wrong = client.post("/api/v1/users", json={**body, "email": "wrong@example.com"})
    assert wrong.status_code == 422
    assert wrong.get_json()["error"]["details"] == {"email": [invites.WRONG_ADDRESS]}
    assert find(app, "api-user") is None
    right = client.post("/api/v1/users", json={**body, "email": "Right@Example.com"})
    assert right.status_code == 201
    assert right.get_json()["role"] == "contributor"
    assert right.get_json()["email_confirmed"] is True
    reused = client.post(
        "/api/v1/users", json={**body, "username": "again", "email": "right@example.com"}
    )
    assert reused.status_code == 422
    assert reused.get_json()["error"]["details"] == {"token": [invites.USED_INVITE]}


@pytest.mark.parametrize("policy", ["open", "approval", "invite"])
def test_invites_work_under_every_policy_but_closed(
    app: Flask, admin_client: FlaskClient, outbox: list[Any], policy: str
) -> None:
    with app.app_context():
        settings.set_registration_policy(UserFactory(role_name="admin"), policy)
        db.session.commit()
    invite_by_form(admin_client, "welcome@example.com", "author")
    assert accept(app.test_client(), accept_path(outbox[0])).status_code == 303
    user = find(app, "invited")
    assert user is not None
    assert (user.active, user.pending_approval) == (True, False)  # the inviter vouched


def test_a_closed_site_takes_no_invitations(
    app: Flask, admin_client: FlaskClient, outbox: list[Any]
) -> None:
    invite_by_form(admin_client, "early@example.com", "author")
    path = accept_path(outbox[0])
    with app.app_context():
        settings.set_registration_policy(UserFactory(role_name="admin"), "closed")
        db.session.commit()
    page = app.test_client().get(path)
    assert page.status_code == 403
    assert "Registration is closed" in page.get_data(as_text=True)
    assert invite_by_form(admin_client, "later@example.com", "author").status_code == 403


def test_an_editor_invites_only_roles_below_editor(app: Flask, client: FlaskClient, make) -> None:
    login(client, make.user(role_name="editor").email)
    form = client.get("/admin/invites").get_data(as_text=True)
    assert 'value="moderator"' in form
    assert 'value="editor"' not in form
    assert 'value="admin"' not in form
    for role in ("editor", "admin"):
        response = invite_by_form(client, f"{role}@example.com", role)
        assert response.status_code == 403
        assert escape(invites.ROLE_TOO_HIGH) in response.get_data(as_text=True)
    assert invite_by_form(client, "writer@example.com", "author").status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Invite.id).where(Invite.email.like("%min@%"))) is None


@pytest.mark.parametrize("role", ["reader", "contributor", "author", "moderator"])
def test_who_may_not_invite_cannot(client: FlaskClient, make, role: str) -> None:
    login(client, make.user(role_name=role).email)
    assert client.get("/admin/invites").status_code == 403
    assert invite_by_form(client, "friend@example.com", "reader").status_code == 403


def test_an_editor_withdraws_only_their_own_invitations(app: Flask, make) -> None:
    with app.app_context():
        editor, other = UserFactory(role_name="editor"), UserFactory(role_name="editor")
        invite = invites.create_invite(editor, "someone@example.com", "author")
        with pytest.raises(Forbidden):
            invites.revoke_invite(other, invite.id)
        invites.revoke_invite(editor, invite.id)


def test_nobody_is_invited_twice_into_one_address(app: Flask, make) -> None:
    existing = make.user(email="member@example.com")
    with app.app_context(), pytest.raises(Conflict):
        invites.create_invite(UserFactory(role_name="admin"), existing.email, "author")


def test_a_logged_in_visitor_is_asked_to_log_out_first(
    app: Flask, admin_client: FlaskClient, outbox: list[Any]
) -> None:
    invite_by_form(admin_client, "friend@example.com", "author")
    path = accept_path(outbox[0])
    page = admin_client.get(path).get_data(as_text=True)
    assert "Log out first" in page
    assert admin_client.post(path, data={"username": "x", "password": PASSWORD}).status_code == 200
    assert the_invite(app, "friend@example.com").accepted_at is None
