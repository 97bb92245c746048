"""Who may open each console page and use each console action: every route of the admin
blueprint, for every role (anonymous visitors are sent to the login page; the others get 403
where their role does not reach)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from penpress.accounts import invites
from penpress.blog.models import Page
from penpress.database import utcnow
from penpress.extensions import db
from tests import factories
from tests.pages import csrf_token, login

# Routes, roles and markup: the same on either database, so once (on the SQLite pass).
pytestmark = pytest.mark.any_database

ROLES = ("anonymous", "reader", "contributor", "author", "editor", "moderator", "admin")
ADMINS = ("admin",)
EDITORS = ("editor", "admin")
MODERATORS = ("editor", "moderator", "admin")


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # formatted with the ids of the world's rows
    allowed: tuple[str, ...]
    data: dict[str, Any] | None = None
    refused: int = 403  # 404 where the page hides that the object exists


# endpoint -> how to call it and who may. A new console route missing here fails
# test_every_console_route_is_in_the_matrix.
MATRIX: dict[str, Route] = {
    "admin.dashboard": Route("GET", "/admin/", MODERATORS),
    "admin.comments": Route("GET", "/admin/comments", MODERATORS),
    "admin.approve_comment": Route("POST", "/admin/comments/{comment}/approve", MODERATORS),
    "admin.delete_comment": Route("POST", "/admin/comments/{comment}/delete", MODERATORS),
    "admin.review": Route("GET", "/admin/review", EDITORS),
    "admin.publish_submission": Route("POST", "/admin/review/{submitted}/publish", EDITORS),
    "admin.return_submission": Route(
        "POST", "/admin/review/{submitted}/return", EDITORS, {"note": "More, please."}
    ),
    "admin.reject_submission": Route("POST", "/admin/review/{submitted}/reject", EDITORS),
    "admin.users": Route("GET", "/admin/users", ADMINS),
    "admin.set_role": Route("POST", "/admin/users/target/role", ADMINS, {"role": "editor"}),
    "admin.set_active": Route("POST", "/admin/users/target/active", ADMINS, {"active": "0"}),
    # An account that is not active yet is unknown to anyone but administrators.
    "admin.approve_user": Route("POST", "/admin/users/waiting/approve", ADMINS, refused=404),
    "admin.reject_user": Route("POST", "/admin/users/waiting/reject", ADMINS, refused=404),
    "admin.invitations": Route("GET", "/admin/invites", EDITORS),
    # Sent by another administrator: editors withdraw only their own invitations.
    "admin.revoke_invite": Route("POST", "/admin/invites/{invite}/revoke", ADMINS),
    "admin.tags": Route("GET", "/admin/tags", EDITORS),
    "admin.rename_tag": Route("POST", "/admin/tags/python/rename", EDITORS, {"name": "Py"}),
    "admin.delete_tag": Route("POST", "/admin/tags/python/delete", EDITORS),
    "admin.site_settings": Route("GET", "/admin/settings", ADMINS),
    "admin.audit_log": Route("GET", "/admin/audit", ADMINS),
    "admin.pages_list": Route("GET", "/admin/pages", ADMINS),
    "admin.new_page": Route("GET", "/admin/pages/new", ADMINS),
    "admin.edit_page": Route("GET", "/admin/pages/{page}/edit", ADMINS),
    "admin.delete_page": Route("POST", "/admin/pages/{page}/delete", ADMINS),
    "admin.posts": Route("GET", "/admin/posts?status=draft", EDITORS),
    "admin.bulk_posts": Route(
        "POST", "/admin/posts/bulk", EDITORS, {"action": "unpublish", "ids": "{post}"}
    ),
    "admin.approved_comments": Route("GET", "/admin/comments/approved?q=a", MODERATORS),
    "admin.spam_comments": Route("GET", "/admin/comments/spam?q=a", MODERATORS),
    "admin.bulk_comments": Route(
        "POST", "/admin/comments/bulk", MODERATORS, {"action": "spam", "ids": "{comment}"}
    ),
    "admin.merge_tag": Route("POST", "/admin/tags/python/merge", EDITORS, {"into": "rust"}),
    "admin.delete_user": Route(
        "POST", "/admin/users/target/delete", ADMINS, {"reassign_to": "writer"}
    ),
    "admin.send_reset": Route("POST", "/admin/users/target/reset", ADMINS),
}


@pytest.fixture
def world(app: Flask) -> dict[str, Any]:
    with app.app_context():
        now = utcnow()
        author = factories.UserFactory(username="writer")
        inviter = factories.UserFactory(username="inviter", role_name="admin")
        factories.UserFactory(username="target", role_name="reader")
        factories.UserFactory(username="waiting", active=False, pending_approval=True)
        post = factories.PostFactory(author=author)
        submitted = factories.PostFactory(
            author=author, published=False, status="submitted", submitted_at=now
        )
        comment = factories.CommentFactory(post=post, author=author, approved=False)
        post.tags = [factories.TagFactory(name="python")]
        factories.TagFactory(name="rust")
        invite = invites.create_invite(inviter, "friend@example.com", "author")
        page = Page(slug="contact", title="Contact", body="Write to us.", body_html="<p>Write</p>")
        db.session.add(page)
        db.session.commit()
        return {
            "comment": comment.id,
            "submitted": submitted.id,
            "invite": invite.id,
            "post": post.id,
            "page": page.id,
        }


def test_every_console_route_is_in_the_matrix(app: Flask) -> None:
    endpoints = {
        rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")
    }
    assert endpoints == set(MATRIX)


CASES = [
    pytest.param(endpoint, role, id=f"{endpoint}-{role}")
    for endpoint in sorted(MATRIX)
    for role in ROLES
]


@pytest.mark.parametrize(("endpoint", "role"), CASES)
def test_console_access(
    client: FlaskClient, make, world: dict[str, Any], endpoint: str, role: str
) -> None:
    route = MATRIX[endpoint]
    if role != "anonymous":
        user = make.user(role_name=role, email_confirmed_at=utcnow())
        assert login(client, user.email).status_code == 303
    data = {key: str(value).format(**world) for key, value in (route.data or {}).items()}
    response = client.open(route.path.format(**world), method=route.method, data=data)
    location = response.headers.get("Location", "")
    if role == "anonymous":
        assert response.status_code == 302
        assert location.startswith("/auth/login")
    elif role in route.allowed:
        assert response.status_code < 400, (response.status_code, response.text[:300])
        assert not location.startswith("/auth/login")
    else:
        assert response.status_code == route.refused, response.status_code


def test_every_console_action_needs_the_csrf_token(build_app: Callable[..., Flask]) -> None:
    """With CSRF on (as in production), an admin's POST without the form's token is a 400 and
    changes nothing; the same POST with the token goes through."""
    csrf_app = build_app(WTF_CSRF_ENABLED=True)
    with csrf_app.app_context():
        admin = factories.UserFactory(role_name="admin")
        factories.TagFactory(name="python")
    # Checked before any lookup.
    ids = {"comment": 1, "submitted": 1, "invite": 1, "post": 1, "page": 1}
    client = csrf_app.test_client()
    assert login(client, admin.email, csrf=True).status_code == 303
    for endpoint, route in sorted(MATRIX.items()):
        if route.method != "POST":
            continue
        data = {key: str(value).format(**ids) for key, value in (route.data or {}).items()}
        response = client.post(route.path.format(**ids), data=data)
        assert response.status_code == 400, endpoint
    token = csrf_token(client, "/admin/tags")
    response = client.post("/admin/tags/python/rename", data={"name": "Py", "csrf_token": token})
    assert response.status_code == 303
