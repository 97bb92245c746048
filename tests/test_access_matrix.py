"""Who may do what: every state-changing site route (from the URL map) and every state-changing
/api/v1 operation (from the OpenAPI document) × a visitor and every role.

The acting account is the world's administrator with its role swapped for the one under test,
so its own rows (a favorite, a follow, a pending address change) are there whatever the role.
What a role may do comes from ``ROLE_PERMISSIONS`` and the permission each route needs (below):
an allowed request gets its success status and changes data; a refused one gets its status and
leaves every table as it was.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from penpress.accounts.models import Role, User
from penpress.extensions import db
from penpress.permissions import ROLE_NAMES, ROLE_PERMISSIONS, Permission
from tests.api.v1.conftest import issue_pair
from tests.factories import DEFAULT_PASSWORD
from tests.images import png
from tests.site_world import (
    NEW_PASSWORD,
    SITE_CASES,
    World,
    build_world,
    changed_tables,
    prepare,
    send,
    site_rules,
    snapshot,
)

# Routes, roles and markup: the same on either database, so once (on the SQLite pass).
pytestmark = pytest.mark.any_database

ROLES: tuple[str | None, ...] = (None, *ROLE_NAMES)  # None: a visitor
OK = 0  # "allowed": the route's success status, and some table changed


@dataclass(frozen=True)
class Access:
    """Who may use a route. ``needs``: the permission a role must hold (None: any account);
    ``anonymous``: what a visitor gets (OK when visitors may); ``signed_in``: for pages meant
    for visitors, what an account gets instead (nothing changes); ``owner_only``: only the
    target's owner (nobody acting here); ``hidden_without``: roles without this permission
    cannot see the target, so they get 404 rather than 403."""

    needs: Permission | None = None
    anonymous: int = 302
    signed_in: int | None = None
    owner_only: bool = False
    hidden_without: Permission | None = None

    def expect(self, role: str | None, ok: int) -> tuple[int, bool]:
        """(status, whether data changes) for ``role``."""
        if role is None:
            return (ok, True) if self.anonymous == OK else (self.anonymous, False)
        if self.signed_in is not None:
            return self.signed_in, False
        held = ROLE_PERMISSIONS[role]
        if not self.owner_only and (self.needs is None or held & self.needs == self.needs):
            return ok, True
        if self.hidden_without is not None and held & self.hidden_without != self.hidden_without:
            return 404, False
        return 403, False


VISITORS = Access(anonymous=OK)  # visitors and every account alike
ACCOUNTS = Access()  # any account; visitors go to the login page
API_ACCOUNTS = Access(anonymous=401)

SITE_ACCESS: dict[str, Access] = {
    "accounts.accept_invite": Access(anonymous=OK, signed_in=200),  # "log out first"
    "accounts.change_email": ACCOUNTS,
    "accounts.change_password": ACCOUNTS,
    "accounts.login": VISITORS,
    "accounts.logout": Access(anonymous=303),  # a visitor's logout does nothing
    "accounts.register": Access(anonymous=OK, signed_in=302),  # accounts go to the home page
    "accounts.update_profile": ACCOUNTS,
    "admin.approve_comment": Access(Permission.MODERATE),
    "admin.approve_user": Access(Permission.ADMIN),
    "admin.bulk_comments": Access(Permission.MODERATE),
    "admin.bulk_posts": Access(Permission.EDIT_ANY_POST),
    "admin.merge_tag": Access(Permission.MANAGE_TAGS),
    "admin.delete_user": Access(Permission.ADMIN),
    "admin.send_reset": Access(Permission.ADMIN),
    "admin.delete_comment": Access(Permission.MODERATE),
    "admin.delete_page": Access(Permission.ADMIN),  # pages: MANAGE_PAGES is ADMIN
    "admin.edit_page": Access(Permission.ADMIN),
    "admin.new_page": Access(Permission.ADMIN),
    "admin.delete_tag": Access(Permission.MANAGE_TAGS),
    "admin.invitations": Access(Permission.INVITE),
    "admin.publish_submission": Access(Permission.EDIT_ANY_POST),
    "admin.reject_submission": Access(Permission.EDIT_ANY_POST),
    "admin.reject_user": Access(Permission.ADMIN),
    "admin.rename_tag": Access(Permission.MANAGE_TAGS),
    "admin.return_submission": Access(Permission.EDIT_ANY_POST),
    "admin.revoke_invite": Access(Permission.INVITE),
    "admin.set_active": Access(Permission.ADMIN),
    "admin.set_role": Access(Permission.ADMIN),
    "admin.site_settings": Access(Permission.ADMIN),
    "blog.comment": Access(Permission.COMMENT),
    "blog.create": Access(Permission.WRITE | Permission.PUBLISH),  # the case publishes at once
    "blog.delete": Access(Permission.EDIT_ANY_POST),  # someone else's post
    "blog.delete_comment": Access(Permission.MODERATE),  # someone else's comment
    "blog.edit": Access(Permission.EDIT_ANY_POST),
    "blog.favorite": Access(Permission.COMMENT),
    "blog.follow": Access(Permission.COMMENT),
    "blog.submit": Access(owner_only=True, hidden_without=Permission.EDIT_ANY_POST),
    "blog.unfavorite": Access(Permission.COMMENT),
    "blog.unfollow": Access(Permission.COMMENT),
    "editor.autosave": Access(
        Permission.EDIT_ANY_POST, anonymous=401, hidden_without=Permission.EDIT_ANY_POST
    ),  # someone else's draft
    "editor.preview": Access(Permission.WRITE, anonymous=401),
    "media.upload": Access(Permission.WRITE, anonymous=401),
    "newsletter.confirm": VISITORS,  # the emailed link is the proof
    "newsletter.subscribe": VISITORS,
    "newsletter.subscribe_account": Access(Permission.COMMENT),
    "newsletter.unsubscribe": VISITORS,  # the emailed link is the proof
    "newsletter.unsubscribe_account": Access(Permission.COMMENT),
    "newsletter_admin.import_csv": Access(Permission.ADMIN),
    "newsletter_admin.remove": Access(Permission.ADMIN),
    "transfer_admin.start_export": Access(Permission.ADMIN),
    "transfer_admin.start_import": Access(Permission.ADMIN),
    "transfer_admin.abandon": Access(Permission.ADMIN),
    "newsletter_admin.resume": Access(Permission.ADMIN),
    "newsletter_admin.unsubscribe_subscriber": Access(Permission.ADMIN),
    "recovery.change_email": VISITORS,  # the emailed link is the proof
    "recovery.request_reset": VISITORS,
    "recovery.resend_confirmation": Access(anonymous=401),
    "recovery.reset_password": VISITORS,  # the emailed link is the proof
}


@dataclass(frozen=True)
class ApiCase:
    """A filled /api/v1 request: its path and JSON body from the world and the acting
    account's token pair (for the refresh)."""

    access: Access
    path: Callable[[World], str]
    json: Callable[[World, Any], dict[str, Any] | None] = lambda w, pair: None
    form: Callable[[World], dict[str, Any]] | None = None  # multipart instead of JSON


# The API looks a submitted post up by slug as the actor sees it, so roles that cannot see
# it get 404 (the site's review buttons, by id, answer 403).
API_REVIEW = Access(
    Permission.EDIT_ANY_POST, anonymous=401, hidden_without=Permission.EDIT_ANY_POST
)

API_CASES: dict[tuple[str, str], ApiCase] = {
    ("POST", "/api/v1/auth/tokens"): ApiCase(
        VISITORS,
        lambda w: "/api/v1/auth/tokens",
        lambda w, pair: {"email": "writer@example.com", "password": DEFAULT_PASSWORD},
    ),
    ("POST", "/api/v1/auth/tokens/refresh"): ApiCase(
        VISITORS,
        lambda w: "/api/v1/auth/tokens/refresh",
        lambda w, pair: {"refresh_token": pair.refresh_token},
    ),
    ("DELETE", "/api/v1/auth/tokens"): ApiCase(API_ACCOUNTS, lambda w: "/api/v1/auth/tokens"),
    ("POST", "/api/v1/posts"): ApiCase(
        Access(Permission.WRITE | Permission.PUBLISH, anonymous=401),
        lambda w: "/api/v1/posts",
        lambda w, pair: {"title": "Made here", "body": "Text", "tags": ["one"], "published": True},
    ),
    ("PATCH", "/api/v1/posts/{slug}"): ApiCase(
        Access(Permission.EDIT_ANY_POST, anonymous=401),
        lambda w: f"/api/v1/posts/{w.post_slug}",
        lambda w, pair: {"title": "Taken over"},
    ),
    ("DELETE", "/api/v1/posts/{slug}"): ApiCase(
        Access(Permission.EDIT_ANY_POST, anonymous=401), lambda w: f"/api/v1/posts/{w.post_slug}"
    ),
    ("POST", "/api/v1/posts/{slug}/submit"): ApiCase(
        Access(owner_only=True, hidden_without=Permission.EDIT_ANY_POST, anonymous=401),
        lambda w: "/api/v1/posts/draft/submit",
    ),
    ("POST", "/api/v1/review/{slug}/publish"): ApiCase(
        API_REVIEW, lambda w: "/api/v1/review/submitted/publish"
    ),
    ("POST", "/api/v1/review/{slug}/return"): ApiCase(
        API_REVIEW,
        lambda w: "/api/v1/review/submitted/return",
        lambda w, pair: {"note": "Fix it."},
    ),
    ("POST", "/api/v1/review/{slug}/reject"): ApiCase(
        API_REVIEW,
        lambda w: "/api/v1/review/submitted/reject",
        lambda w, pair: {"note": "No."},
    ),
    ("POST", "/api/v1/posts/{slug}/comments"): ApiCase(
        Access(Permission.COMMENT, anonymous=401),
        lambda w: f"/api/v1/posts/{w.post_slug}/comments",
        lambda w, pair: {"body": "Me too"},
    ),
    ("DELETE", "/api/v1/comments/{comment_id}"): ApiCase(
        Access(Permission.MODERATE, anonymous=401), lambda w: f"/api/v1/comments/{w.approved_id}"
    ),
    ("POST", "/api/v1/comments/{comment_id}/approve"): ApiCase(
        Access(Permission.MODERATE, anonymous=401, hidden_without=Permission.MODERATE),
        lambda w: f"/api/v1/comments/{w.pending_id}/approve",
    ),
    ("POST", "/api/v1/users"): ApiCase(
        VISITORS,
        lambda w: "/api/v1/users",
        lambda w, pair: {
            "username": "newcomer",
            "email": "newcomer@example.com",
            "password": NEW_PASSWORD,
        },
    ),  # fmt: skip
    ("PATCH", "/api/v1/users/{username}"): ApiCase(
        Access(Permission.ADMIN, anonymous=401),
        lambda w: f"/api/v1/users/{w.writer}",
        lambda w, pair: {"role": "editor"},
    ),
    ("DELETE", "/api/v1/users/{username}"): ApiCase(
        Access(Permission.ADMIN, anonymous=401), lambda w: f"/api/v1/users/{w.writer}"
    ),
    ("PATCH", "/api/v1/me"): ApiCase(
        API_ACCOUNTS, lambda w: "/api/v1/me", lambda w, pair: {"bio": "A new bio"}
    ),
    ("POST", "/api/v1/media"): ApiCase(
        Access(Permission.WRITE, anonymous=401),
        lambda w: "/api/v1/media",
        form=lambda w: {"file": (io.BytesIO(png((40, 30))), "picture.png")},
    ),
    ("POST", "/api/v1/subscribers"): ApiCase(
        VISITORS,
        lambda w: "/api/v1/subscribers",
        lambda w, pair: {"email": "api-reader@example.com"},
    ),
    ("PUT", "/api/v1/me/password"): ApiCase(
        API_ACCOUNTS,
        lambda w: "/api/v1/me/password",
        lambda w, pair: {"current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD},
    ),
}


def act_as(app: Flask, world: World, role: str | None) -> User:
    """The world's administrator, now holding ``role`` (a visitor: unchanged, unused)."""
    with app.app_context():
        if role is not None:
            role_id = db.session.scalar(select(Role.id).where(Role.name == role))
            db.session.execute(
                update(User).where(User.username == world.admin).values(role_id=role_id)
            )
            db.session.commit()
        user = db.session.scalar(select(User).where(User.username == world.admin))
        assert user is not None
        return user


def spec_operations(client: FlaskClient) -> dict[tuple[str, str], int]:
    """Every state-changing operation of the OpenAPI document, with its success status."""
    spec = client.get("/api/v1/openapi.json").get_json()
    found = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method in {"get", "head", "options", "parameters"}:
                continue
            successes = sorted(int(code) for code in operation["responses"] if code[0] == "2")
            assert len(successes) == 1, (method, path, successes)
            found[(method.upper(), path)] = successes[0]
    return found


def test_every_route_and_operation_is_in_the_matrix(app: Flask, client: FlaskClient) -> None:
    """A new state-changing route or operation fails here until its access is declared."""
    assert {endpoint for endpoint, _, _ in site_rules(app)} == set(SITE_ACCESS)
    assert set(spec_operations(client)) == set(API_CASES)


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role or "visitor")
@pytest.mark.parametrize(("endpoint", "method"), sorted(SITE_CASES))
def test_site_route_by_role(
    app: Flask,
    login: Callable[[FlaskClient, Any], None],
    endpoint: str,
    method: str,
    role: str | None,
) -> None:
    case = SITE_CASES[(endpoint, method)]
    status, changes = SITE_ACCESS[endpoint].expect(role, case.ok)
    world = build_world(app)
    actor = act_as(app, world, role)
    client = app.test_client()
    if role is not None:
        login(client, actor)
    prepare(app, case, world)
    before = snapshot(app)
    response = send(client, case, world, method)
    assert response.status_code == status, response.get_data(as_text=True)[:1000]
    assert (changed_tables(before, snapshot(app)) != []) is (changes and case.changes)
    if role is None and status == 302 and not changes:
        assert response.location.startswith("/auth/login?next=")


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role or "visitor")
@pytest.mark.parametrize(("method", "path"), sorted(API_CASES))
def test_api_operation_by_role(
    app: Flask, client: FlaskClient, method: str, path: str, role: str | None
) -> None:
    case = API_CASES[(method, path)]
    ok = spec_operations(client)[(method, path)]
    status, changes = case.access.expect(role, ok)
    world = build_world(app)
    pair = issue_pair(app, act_as(app, world, role))
    headers = {} if role is None else {"Authorization": f"Bearer {pair.access_token}"}
    before = snapshot(app)
    if case.form is not None:
        response = client.open(
            case.path(world), method=method, data=case.form(world), headers=headers
        )
    else:
        response = client.open(
            case.path(world), method=method, json=case.json(world, pair), headers=headers
        )
    assert response.status_code == status, response.get_data(as_text=True)[:1000]
    assert (changed_tables(before, snapshot(app)) != []) is changes
    if status >= 400:
        assert response.get_json()["error"]["code"] == status
