"""One small site with a row for every state-changing route to act on, and a snapshot of every
table, for the generated security matrices (tests/test_csrf_matrix.py,
tests/test_access_matrix.py).

A matrix names each route's target rows through :class:`World`, so the same request can be
sent without a CSRF token, by each role, or as the positive control that must change data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import select
from werkzeug.routing import Rule

from penpress.accounts import email_tokens, invites
from penpress.accounts import services as accounts
from penpress.blog import services as blog
from penpress.blog.models import Post
from penpress.blog.services.tags import resolve_tags
from penpress.extensions import db
from tests.factories import DEFAULT_PASSWORD, CommentFactory, PostFactory, UserFactory

NEW_PASSWORD = "a-brand-new-password"
READ_ONLY = {"GET", "HEAD", "OPTIONS"}
# JSON APIs (bearer tokens, no cookies: CSRF does not apply; tests/api/... cover them) and the
# operations routes (health checks and metrics, for machines).
NOT_SITE_PREFIXES = ("/api/", "/realworld/api/")
NOT_SITE_BLUEPRINTS = {"ops"}


@dataclass
class World:
    """Names and ids of the rows each route acts on (all committed)."""

    admin: str
    writer: str  # an author with ``post`` (published, tagged) and ``other``
    contributor: str  # has ``draft`` and ``submitted``
    reader: str  # wrote ``pending`` and ``approved`` on ``post``
    waiting: str  # an account waiting for approval
    post_id: int
    post_slug: str
    other_slug: str
    draft_id: int
    submitted_id: int
    pending_id: int  # a comment waiting for moderation
    approved_id: int  # a shown comment
    tag: str
    invite_id: int
    invite_token: str
    reset_token: str  # the reader's
    email_change_token: str  # the admin's pending move to boss-new@example.com


def build_world(app: Flask) -> World:
    """The rows every matrix case needs. The admin follows the writer and favorited ``post``,
    so unfollow and unfavorite have something to undo."""
    with app.app_context():
        admin = UserFactory(username="boss", role_name="admin")
        writer = UserFactory(username="writer", role_name="author")
        contributor = UserFactory(username="contrib", role_name="contributor")
        reader = UserFactory(username="reader", role_name="reader")
        UserFactory(username="waiting", role_name="reader", pending_approval=True)
        post = PostFactory(author=writer, title="Target", slug="target")
        post.tags = resolve_tags(["matrixtag"])
        other = PostFactory(author=writer, title="Other", slug="other")
        draft = PostFactory(
            author=contributor, title="Draft", slug="draft", published=False, status="draft"
        )
        submitted = PostFactory(
            author=contributor, title="Submitted", slug="submitted", published=False
        )
        blog.submit_post(contributor, submitted)
        pending = CommentFactory(post=post, author=reader, body="Waiting", approved=False)
        approved = CommentFactory(post=post, author=reader, body="Shown", approved=True)
        accounts.follow(admin, writer)
        blog.favorite(admin, post)
        invite = invites.create_invite(admin, "invited@example.com", "author")
        accounts.request_email_change(admin, "boss-new@example.com", DEFAULT_PASSWORD)
        db.session.flush()
        world = World(
            admin="boss",
            writer="writer",
            contributor="contrib",
            reader="reader",
            waiting="waiting",
            post_id=post.id,
            post_slug=post.slug,
            other_slug=other.slug,
            draft_id=draft.id,
            submitted_id=submitted.id,
            pending_id=pending.id,
            approved_id=approved.id,
            tag="matrixtag",
            invite_id=invite.id,
            invite_token=email_tokens.make_invite_token(invite),
            reset_token=email_tokens.make_reset_token(reader),
            email_change_token=email_tokens.make_email_change_token(admin),
        )
        db.session.commit()
        assert db.session.get(Post, submitted.id).status == "submitted"  # type: ignore[union-attr]
    return world


def snapshot(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order: what "the data is unchanged" compares."""
    with app.app_context():
        tables = {}
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(select(table)).all()
            tables[table.name] = sorted((tuple(row) for row in rows), key=repr)
        db.session.rollback()
    return tables


def changed_tables(
    before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]
) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def site_rules(app: Flask) -> list[tuple[str, str, Rule]]:
    """(endpoint, method, rule) of every state-changing route of the website."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(NOT_SITE_PREFIXES):
            continue
        if rule.endpoint.partition(".")[0] in NOT_SITE_BLUEPRINTS:
            continue
        for method in sorted((rule.methods or set()) - READ_ONLY):
            found.append((rule.endpoint, method, rule))
    return sorted(found, key=lambda item: (item[0], item[1]))


@dataclass(frozen=True)
class SiteCase:
    """A request to one state-changing site route that succeeds (``ok``) when ``actor`` sends
    it with a CSRF token: the positive control that proves the request is really filled in."""

    actor: str | None  # a World username attribute ("admin", ...), None for a visitor
    url: Callable[[World], str]
    data: Callable[[World], dict[str, str]] = lambda w: {}
    ok: int = 303


PASSWORDS = {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}

# Every state-changing route of the website, filled with real rows. A route added without an
# entry here fails tests/test_csrf_matrix.py::test_every_site_route_is_in_the_matrix.
SITE_CASES: dict[tuple[str, str], SiteCase] = {
    ("accounts.accept_invite", "POST"): SiteCase(
        None,
        lambda w: f"/auth/invite/{w.invite_token}",
        lambda w: {"username": "newbie"} | PASSWORDS,
    ),
    ("accounts.change_email", "POST"): SiteCase(
        "admin",
        lambda w: "/auth/profile/email",
        lambda w: {"email": "boss-other@example.com", "current_password": DEFAULT_PASSWORD},
    ),
    ("accounts.change_password", "POST"): SiteCase(
        "admin",
        lambda w: "/auth/profile/password",
        lambda w: {
            "current_password": DEFAULT_PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
        },
    ),  # fmt: skip
    ("accounts.login", "POST"): SiteCase(
        None,
        lambda w: "/auth/login",
        lambda w: {"email": "writer@example.com", "password": DEFAULT_PASSWORD},
    ),
    ("accounts.logout", "POST"): SiteCase("admin", lambda w: "/auth/logout"),
    ("accounts.register", "POST"): SiteCase(
        None,
        lambda w: "/auth/register",
        lambda w: {"username": "newcomer", "email": "newcomer@example.com"} | PASSWORDS,
    ),
    ("accounts.update_profile", "POST"): SiteCase(
        "admin", lambda w: "/auth/profile", lambda w: {"bio": "A new bio"}
    ),
    ("admin.approve_comment", "POST"): SiteCase(
        "admin", lambda w: f"/admin/comments/{w.pending_id}/approve"
    ),
    ("admin.approve_user", "POST"): SiteCase(
        "admin", lambda w: f"/admin/users/{w.waiting}/approve"
    ),
    ("admin.delete_comment", "POST"): SiteCase(
        "admin", lambda w: f"/admin/comments/{w.pending_id}/delete"
    ),
    ("admin.delete_tag", "POST"): SiteCase("admin", lambda w: f"/admin/tags/{w.tag}/delete"),
    ("admin.invitations", "POST"): SiteCase(
        "admin",
        lambda w: "/admin/invites",
        lambda w: {"email": "new@example.com", "role": "author"},
    ),
    ("admin.publish_submission", "POST"): SiteCase(
        "admin", lambda w: f"/admin/review/{w.submitted_id}/publish"
    ),
    ("admin.reject_submission", "POST"): SiteCase(
        "admin", lambda w: f"/admin/review/{w.submitted_id}/reject", lambda w: {"note": "No."}
    ),
    ("admin.rename_tag", "POST"): SiteCase(
        "admin", lambda w: f"/admin/tags/{w.tag}/rename", lambda w: {"name": "Renamed"}
    ),
    ("admin.return_submission", "POST"): SiteCase(
        "admin", lambda w: f"/admin/review/{w.submitted_id}/return", lambda w: {"note": "Fix it."}
    ),
    ("admin.reject_user", "POST"): SiteCase("admin", lambda w: f"/admin/users/{w.waiting}/reject"),
    ("admin.revoke_invite", "POST"): SiteCase(
        "admin", lambda w: f"/admin/invites/{w.invite_id}/revoke"
    ),
    ("admin.set_active", "POST"): SiteCase(
        "admin", lambda w: f"/admin/users/{w.writer}/active", lambda w: {"active": "0"}
    ),
    ("admin.set_role", "POST"): SiteCase(
        "admin", lambda w: f"/admin/users/{w.writer}/role", lambda w: {"role": "editor"}
    ),
    ("admin.site_settings", "POST"): SiteCase(
        "admin",
        lambda w: "/admin/settings",
        lambda w: {"registration": "approval", "default_role": "reader"},
    ),
    ("blog.comment", "POST"): SiteCase(
        "admin", lambda w: f"/blog/post/{w.post_slug}/comment", lambda w: {"body": "Me too"}
    ),
    ("blog.create", "POST"): SiteCase(
        "admin",
        lambda w: "/blog/create",
        lambda w: {"title": "Made here", "body": "Text", "tags": "one", "published": "y"},
    ),
    ("blog.delete", "POST"): SiteCase("admin", lambda w: f"/blog/delete/{w.post_id}"),
    ("blog.delete_comment", "POST"): SiteCase(
        "admin", lambda w: f"/blog/comments/{w.approved_id}/delete"
    ),
    ("blog.edit", "POST"): SiteCase(
        "admin",
        lambda w: f"/blog/edit/{w.post_id}",
        lambda w: {"title": "Taken over", "body": "Changed", "published": "y"},
    ),
    ("blog.favorite", "POST"): SiteCase("admin", lambda w: f"/blog/post/{w.other_slug}/favorite"),
    ("blog.follow", "POST"): SiteCase("admin", lambda w: f"/blog/author/{w.contributor}/follow"),
    ("blog.submit", "POST"): SiteCase("contributor", lambda w: f"/blog/submit/{w.draft_id}"),
    ("blog.unfavorite", "POST"): SiteCase(
        "admin", lambda w: f"/blog/post/{w.post_slug}/unfavorite"
    ),
    ("blog.unfollow", "POST"): SiteCase("admin", lambda w: f"/blog/author/{w.writer}/unfollow"),
    ("recovery.change_email", "POST"): SiteCase(
        None, lambda w: f"/auth/email-change/{w.email_change_token}"
    ),
    ("recovery.request_reset", "POST"): SiteCase(
        None, lambda w: "/auth/reset", lambda w: {"email": "reader@example.com"}, ok=302
    ),
    ("recovery.resend_confirmation", "POST"): SiteCase(
        "admin", lambda w: "/auth/confirm/resend", ok=302
    ),
    ("recovery.reset_password", "POST"): SiteCase(
        None, lambda w: f"/auth/reset/{w.reset_token}", lambda w: dict(PASSWORDS), ok=302
    ),
}

# Routes that cannot be filled in by the table above, with the reason (none today). They are
# still required to refuse a request without a token.
UNFILLABLE: dict[tuple[str, str], str] = {}
