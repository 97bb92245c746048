"""Users through the API: registration, profiles, /me, administration."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from penpress.accounts.models import User
from penpress.extensions import db
from tests.api.v1.conftest import AuthHeaders, error_of
from tests.conftest import Make
from tests.factories import DEFAULT_PASSWORD
from tests.mailbox import links_in

USERS = "/api/v1/users"
ME = "/api/v1/me"
NEW_USER = {"username": "newbie", "email": "Newbie@Example.com", "password": "long-enough-pw"}


def test_register_creates_a_reader_who_can_log_in(client: FlaskClient) -> None:
    response = client.post(USERS, json={**NEW_USER, "bio": "Hello"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["username"] == "newbie"
    assert body["email"] == "newbie@example.com"
    assert body["role"] == "reader"  # the site's default role for new accounts
    assert (body["active"], body["pending_approval"]) == (True, False)
    assert body["bio"] == "Hello"
    assert "password" not in body
    assert response.headers["Location"].endswith("/api/v1/users/newbie")
    assert client.get(response.headers["Location"]).status_code == 200
    login = client.post(
        "/api/v1/auth/tokens", json={"email": "newbie@example.com", "password": "long-enough-pw"}
    )
    assert login.status_code == 200


def test_register_conflicts_are_409_by_field(client: FlaskClient, make: Make) -> None:
    make.user(username="taken", email="taken@example.com")
    same_name = client.post(USERS, json={**NEW_USER, "username": "TAKEN"})
    assert same_name.status_code == 409
    assert error_of(same_name)["details"] == {"username": ["That username is taken."]}
    same_email = client.post(USERS, json={**NEW_USER, "email": "TAKEN@example.com"})
    assert same_email.status_code == 409
    assert error_of(same_email)["details"] == {"email": ["That email is already registered."]}


def test_register_validation(client: FlaskClient) -> None:
    response = client.post(USERS, json={"username": "a b", "email": "nope", "password": "x"})
    assert response.status_code == 422
    assert set(error_of(response)["details"]) == {"username", "email", "password"}
    missing = client.post(USERS, json={"username": "someone"})
    assert set(error_of(missing)["details"]) == {"email", "password"}
    role = client.post(USERS, json={**NEW_USER, "role": "admin"})
    assert role.status_code == 422
    assert error_of(role)["details"] == {"role": ["Unknown field."]}
    assert client.post(USERS, data=NEW_USER).status_code == 415


def test_list_users_is_paginated_without_emails(client: FlaskClient, make: Make) -> None:
    for name in ("carol", "alice", "bob"):
        make.user(username=name)
    make.user(username="gone", active=False)
    response = client.get(f"{USERS}?per_page=2")
    assert response.status_code == 200
    body = response.get_json()
    assert [u["username"] for u in body["users"]] == ["alice", "bob"]
    assert (body["total"], body["pages"]) == (3, 2)
    assert body["links"]["next"].endswith("page=2&per_page=2")
    assert all("email" not in u for u in body["users"])
    assert b"@example.com" not in response.data


def test_get_user_profile(client: FlaskClient, make: Make) -> None:
    make.user(username="alice", bio="Writer")
    response = client.get(f"{USERS}/alice")
    assert response.status_code == 200
    body = response.get_json()
    assert body["bio"] == "Writer"
    assert "email" not in body
    missing = client.get(f"{USERS}/nobody")
    assert missing.status_code == 404
    assert error_of(missing)["message"] == "No such user."


def test_me_includes_email(client: FlaskClient, make: Make, auth_headers: AuthHeaders) -> None:
    user = make.user()
    response = client.get(ME, headers=auth_headers(user))
    assert response.status_code == 200
    body = response.get_json()
    assert body["email"] == user.email
    assert body["email_confirmed"] is False
    assert "private" in response.headers["Cache-Control"]
    assert client.get(ME).status_code == 401


def test_patch_me(client: FlaskClient, make: Make, auth_headers: AuthHeaders) -> None:
    user = make.user(image_url="https://example.com/me.png")
    headers = auth_headers(user)
    response = client.patch(ME, json={"bio": "New bio", "username": "renamed"}, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["bio"] == "New bio"
    assert response.get_json()["username"] == "renamed"
    cleared = client.patch(ME, json={"image_url": None}, headers=headers)
    assert cleared.get_json()["image_url"] is None
    bad = client.patch(ME, json={"image_url": "javascript:alert(1)"}, headers=headers)
    assert bad.status_code == 422
    assert "image_url" in error_of(bad)["details"]
    sneaky = client.patch(ME, json={"role": "admin"}, headers=headers)
    assert error_of(sneaky)["details"] == {"role": ["Unknown field."]}


def test_a_token_alone_cannot_change_the_email_address(
    client: FlaskClient, make: Make, auth_headers: AuthHeaders, outbox: list[Any]
) -> None:
    user = make.user(email="mine@example.com")
    headers = auth_headers(user)
    for body, message in (
        ({"email": "thief@example.com"}, "Enter your current password"),
        ({"email": "thief@example.com", "current_password": "a-guess"}, "not correct"),
    ):
        response = client.patch(ME, json={**body, "bio": "changed"}, headers=headers)
        assert response.status_code == 422
        assert message in error_of(response)["details"]["current_password"][0]
    me = client.get(ME, headers=headers).get_json()
    assert (me["email"], me["pending_email"], me["bio"]) == ("mine@example.com", None, "")
    assert outbox == []


def test_an_email_change_waits_for_the_link(
    client: FlaskClient, make: Make, auth_headers: AuthHeaders, outbox: list[Any]
) -> None:
    user = make.user(email="mine@example.com")
    headers = auth_headers(user)
    response = client.patch(
        ME,
        json={"email": "Moved@Example.com", "current_password": DEFAULT_PASSWORD},
        headers=headers,
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["email"], body["pending_email"]) == ("mine@example.com", "moved@example.com")
    assert "current_password" not in body
    assert sorted(m.to for m in outbox) == [["mine@example.com"], ["moved@example.com"]]
    (message,) = [m for m in outbox if m.to == ["moved@example.com"]]
    (link,) = [url for url in links_in(message) if "/auth/email-change/" in url]
    assert client.post(urlsplit(link).path).status_code == 303  # CSRF is off in these tests
    me = client.get(ME, headers=headers).get_json()
    assert (me["email"], me["pending_email"], me["email_confirmed"]) == (
        "moved@example.com",
        None,
        True,
    )
    # The current address needs no password and changes nothing.
    same = client.patch(ME, json={"email": "moved@example.com"}, headers=headers)
    assert same.status_code == 200


def test_patch_me_conflict(client: FlaskClient, make: Make, auth_headers: AuthHeaders) -> None:
    make.user(username="taken")
    response = client.patch(ME, json={"username": "taken"}, headers=auth_headers())
    assert response.status_code == 409
    assert "username" in error_of(response)["details"]


def test_admin_changes_role_active_and_bio(
    app: Flask, client: FlaskClient, make: Make, auth_headers: AuthHeaders
) -> None:
    target = make.user(username="target")
    admin = auth_headers(role_name="admin")
    response = client.patch(
        f"{USERS}/target", json={"role": "moderator", "bio": "Mod"}, headers=admin
    )
    assert response.status_code == 200
    assert response.get_json()["role"] == "moderator"
    assert response.get_json()["bio"] == "Mod"
    target_headers = auth_headers(target)
    deactivated = client.patch(f"{USERS}/target", json={"active": False}, headers=admin)
    assert deactivated.get_json()["active"] is False
    # Deactivation ends the user's logins at once.
    assert client.get(ME, headers=target_headers).status_code == 401
    with app.app_context():
        assert db.session.get_one(User, target.id).active is False


def user_state(client: FlaskClient, username: str) -> tuple[str, str, bool] | None:
    """(role, bio, active) of an account as stored, None when it is gone."""
    app = client.application
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        return None if user is None else (user.role.name, user.bio, user.active)


def test_admin_patch_rules(client: FlaskClient, make: Make, auth_headers: AuthHeaders) -> None:
    make.user(username="target", bio="Mine")
    forbidden = client.patch(f"{USERS}/target", json={"bio": "x"}, headers=auth_headers())
    assert forbidden.status_code == 403
    error_of(forbidden)
    moderator = auth_headers(role_name="moderator")
    assert (
        client.patch(f"{USERS}/target", json={"role": "admin"}, headers=moderator).status_code
        == 403
    )
    admin_user = make.user(role_name="admin", username="boss")
    admin = auth_headers(admin_user)
    self_demote = client.patch(f"{USERS}/boss", json={"role": "reader"}, headers=admin)
    assert self_demote.status_code == 403
    bad_role = client.patch(f"{USERS}/target", json={"role": "king"}, headers=admin)
    assert bad_role.status_code == 422
    assert "role" in error_of(bad_role)["details"]
    empty = client.patch(f"{USERS}/target", json={}, headers=admin)
    assert empty.status_code == 422
    assert client.patch(f"{USERS}/nobody", json={"bio": "x"}, headers=admin).status_code == 404
    # Every refusal above left both accounts as they were.
    assert user_state(client, "target") == ("author", "Mine", True)
    assert user_state(client, "boss") == ("admin", "", True)


def test_admin_deletes_users(client: FlaskClient, make: Make, auth_headers: AuthHeaders) -> None:
    make.user(username="target")
    boss = make.user(role_name="admin", username="boss")
    assert client.delete(f"{USERS}/target", headers=auth_headers()).status_code == 403
    assert client.delete(f"{USERS}/target").status_code == 401
    assert client.delete(f"{USERS}/boss", headers=auth_headers(boss)).status_code == 403
    assert user_state(client, "target") == ("author", "", True)
    assert user_state(client, "boss") == ("admin", "", True)
    assert client.delete(f"{USERS}/target", headers=auth_headers(boss)).status_code == 204
    assert client.get(f"{USERS}/target").status_code == 404
    assert user_state(client, "target") is None


def test_listing_users_costs_a_fixed_number_of_queries(
    client: FlaskClient, make: Make, count_queries: Any
) -> None:
    make.user()

    def queries() -> int:
        with count_queries() as statements:
            assert client.get(f"{USERS}?per_page=50").status_code == 200
        return len(statements)

    one = queries()
    for role in ("reader", "author", "moderator", "admin", "author"):
        make.user(role_name=role)
    assert queries() == one


# --- your favorites -------------------------------------------------------------------------


def test_my_favorites_lists_the_published_posts_i_favorited(
    app: Flask, client: FlaskClient, make: Make, auth_headers: AuthHeaders
) -> None:
    from datetime import timedelta

    from penpress.blog import services as blog
    from penpress.database import utcnow

    reader = make.user(username="fan")
    other = make.user(username="other")
    start = utcnow() - timedelta(days=9)
    posts = [
        make.post(title=f"Post {n}", slug=f"post-{n}", published=True,
                  published_at=start + timedelta(days=n))
        for n in range(5)
    ]  # fmt: skip
    with app.app_context():
        for post in posts[:3]:
            blog.favorite(db.session.merge(reader), blog.get_post(None, post.slug))
        blog.favorite(db.session.merge(other), blog.get_post(None, posts[4].slug))
        db.session.commit()

    headers = auth_headers(reader)
    first = client.get(f"{ME}/favorites?per_page=2", headers=headers)
    assert first.status_code == 200
    body = first.get_json()
    assert [p["slug"] for p in body["posts"]] == ["post-2", "post-1"]
    assert body["total"] == 3
    second = client.get(f"{ME}/favorites?per_page=2&cursor={body['next_cursor']}", headers=headers)
    assert [p["slug"] for p in second.get_json()["posts"]] == ["post-0"]
    assert second.get_json()["next_cursor"] is None


def test_my_favorites_needs_a_token(client: FlaskClient) -> None:
    response = client.get(f"{ME}/favorites")
    assert response.status_code == 401
    assert error_of(response)["code"]


def test_my_favorites_refuses_a_bad_cursor(client: FlaskClient, auth_headers: AuthHeaders) -> None:
    response = client.get(f"{ME}/favorites?cursor=not-a-cursor", headers=auth_headers())
    assert response.status_code == 422
