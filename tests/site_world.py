"""One small site with a row for every state-changing route to act on, and a snapshot of every
table, for the generated security matrices (tests/test_csrf_matrix.py,
tests/test_access_matrix.py).

A matrix names each route's target rows through :class:`World`, so the same request can be
sent without a CSRF token, by each role, or as the positive control that must change data.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule

from penpress.accounts import email_tokens, invites
from penpress.accounts import services as accounts
from penpress.blog import services as blog
from penpress.blog.models import Post
from penpress.blog.services import editor
from penpress.blog.services import pages as site_pages
from penpress.blog.services.tags import resolve_tags
from penpress.extensions import db
from penpress.newsletter import tokens as newsletter_tokens
from penpress.newsletter.models import CONFIRMED, PAUSED, PENDING, Subscriber
from penpress.transfer.models import RUNNING, TransferRun
from tests.factories import DEFAULT_PASSWORD, CommentFactory, PostFactory, UserFactory
from tests.images import png

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
    draft_version: str  # what the editor's autosave names for ``draft``
    paused_id: int  # newsletter subscribers: one paused after bounces,
    confirmed_id: int  # one receiving posts,
    subscribe_token: str  # the confirmation link of one waiting (pending@example.com),
    unsubscribe_token: str  # and the unsubscribe link of the confirmed one
    page_id: int  # a published static page (/contact)


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
        paused = _subscriber("paused@example.com", PAUSED)
        confirmed = _subscriber("confirmed@example.com", CONFIRMED)
        waiting_subscriber = _subscriber("pending@example.com", PENDING, nonce="0" * 32)
        page = site_pages.create_page(admin, title="Contact", body="Write to us.", published=True)
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
            draft_version=editor.version_of(draft),
            page_id=page.id,
            paused_id=paused.id,
            confirmed_id=confirmed.id,
            subscribe_token=newsletter_tokens.make_confirmation_token(waiting_subscriber),
            unsubscribe_token=newsletter_tokens.make_unsubscribe_token(
                confirmed.id, confirmed.secret
            ),
        )
        db.session.commit()
        assert db.session.get(Post, submitted.id).status == "submitted"  # type: ignore[union-attr]
    return world


def _subscriber(email: str, status: str, nonce: str | None = None) -> Subscriber:
    subscriber = Subscriber(
        email=email, status=status, source="form", secret="s" * 32, failures=0,
        confirm_nonce=nonce,
    )  # fmt: skip
    db.session.add(subscriber)
    return subscriber


def subscribe_the_admin(world: World) -> None:
    """The admin's own address gets the newsletter (so unsubscribing it changes something)."""
    db.session.add(Subscriber(email="boss@example.com", status=CONFIRMED, source="account",
                              secret="b" * 32, failures=0))  # fmt: skip


STALLED_RUN = 4242


def stall_a_run(world: World) -> None:
    """An export whose job stopped reporting an hour ago (its worker died)."""
    started = datetime.now(UTC) - timedelta(hours=1)
    db.session.add(TransferRun(id=STALLED_RUN, kind="export", state=RUNNING, started_at=started))


def _another_tag(name: str) -> None:
    """A second tag, for merging the world's tag into."""
    resolve_tags([name])


def prepare(app: Flask, case: SiteCase, world: World) -> None:
    """The extra rows ``case`` needs, if any."""
    if case.prepare is not None:
        with app.app_context():
            case.prepare(world)
            db.session.commit()


def send(
    client: FlaskClient, case: SiteCase, world: World, method: str, token: str | None = None
) -> Any:
    """``case``'s request, with ``token`` as a form field or (JSON) the X-CSRFToken header."""
    url = case.url(world)
    if case.json is not None:
        headers = {} if token is None else {"X-CSRFToken": token}
        return client.open(url, method=method, json=case.json(world), headers=headers)
    data = case.data(world)  # made again each time: an upload's stream is read once
    if token is not None:
        data["csrf_token"] = token
    return client.open(url, method=method, data=data)


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
    data: Callable[[World], dict[str, Any]] = lambda w: {}  # a form (files as (stream, name))
    ok: int = 303
    json: Callable[[World], dict[str, Any]] | None = None  # a JSON body instead of a form
    changes: bool = True  # False: the request only answers (a preview)
    prepare: Callable[[World], None] | None = None  # more rows, in an app context, committed
    speaks_json: bool = False  # the editor's and uploads' routes answer errors in JSON


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
    ("admin.delete_page", "POST"): SiteCase("admin", lambda w: f"/admin/pages/{w.page_id}/delete"),
    ("admin.bulk_comments", "POST"): SiteCase(
        "admin",
        lambda w: "/admin/comments/bulk",
        lambda w: {"action": "approve", "ids": str(w.pending_id)},
    ),
    ("admin.bulk_posts", "POST"): SiteCase(
        "admin",
        lambda w: "/admin/posts/bulk",
        lambda w: {"action": "unpublish", "ids": str(w.post_id)},
    ),
    ("admin.merge_tag", "POST"): SiteCase(
        "admin",
        lambda w: f"/admin/tags/{w.tag}/merge",
        lambda w: {"into": "Elsewhere"},
        prepare=lambda w: _another_tag("Elsewhere"),
    ),
    ("admin.delete_user", "POST"): SiteCase(
        "admin", lambda w: f"/admin/users/{w.reader}/delete", lambda w: {"reassign_to": ""}
    ),
    ("admin.send_reset", "POST"): SiteCase("admin", lambda w: f"/admin/users/{w.reader}/reset"),
    ("admin.edit_page", "POST"): SiteCase(
        "admin",
        lambda w: f"/admin/pages/{w.page_id}/edit",
        lambda w: {"title": "Contact us", "slug": "contact", "body": "Changed.", "published": "y"},
    ),
    ("admin.new_page", "POST"): SiteCase(
        "admin",
        lambda w: "/admin/pages/new",
        lambda w: {"title": "Imprint", "body": "Who we are.", "published": "y"},
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
    ("editor.autosave", "POST"): SiteCase(
        "admin",
        lambda w: f"/blog/editor/autosave/{w.draft_id}",
        ok=200,
        json=lambda w: {"version": w.draft_version, "title": "Saved as I type"},
        speaks_json=True,
    ),
    ("editor.preview", "POST"): SiteCase(
        "admin",
        lambda w: "/blog/editor/preview",
        ok=200,
        json=lambda w: {"title": "Preview", "body": "*Shown*"},
        changes=False,
        speaks_json=True,
    ),
    ("media.upload", "POST"): SiteCase(
        "admin",
        lambda w: "/uploads",
        lambda w: {"file": (io.BytesIO(png((40, 30))), "picture.png")},
        ok=201,
        speaks_json=True,
    ),
    ("newsletter.subscribe_account", "POST"): SiteCase(
        "admin", lambda w: "/newsletter/account/subscribe"
    ),
    ("newsletter.unsubscribe_account", "POST"): SiteCase(
        "admin", lambda w: "/newsletter/account/unsubscribe", prepare=subscribe_the_admin
    ),
    ("newsletter_admin.import_csv", "POST"): SiteCase(
        "admin",
        lambda w: "/admin/subscribers/import",
        lambda w: {
            "file": (io.BytesIO(b"email\nimported@example.com\n"), "list.csv"),
            "consent": "y",
        },
        ok=200,
    ),  # fmt: skip
    ("transfer_admin.start_export", "POST"): SiteCase("admin", lambda w: "/admin/transfer/export"),
    ("transfer_admin.abandon", "POST"): SiteCase(
        "admin", lambda w: f"/admin/transfer/{STALLED_RUN}/abandon", prepare=stall_a_run
    ),
    ("transfer_admin.start_import", "POST"): SiteCase(
        "admin",
        lambda w: "/admin/transfer/import",
        lambda w: {"file": (io.BytesIO(b'{"db": []}'), "ghost.json")},
    ),
    ("newsletter_admin.remove", "POST"): SiteCase(
        "admin", lambda w: f"/admin/subscribers/{w.confirmed_id}/remove"
    ),
    ("newsletter_admin.resume", "POST"): SiteCase(
        "admin", lambda w: f"/admin/subscribers/{w.paused_id}/resume"
    ),
    ("newsletter_admin.unsubscribe_subscriber", "POST"): SiteCase(
        "admin", lambda w: f"/admin/subscribers/{w.confirmed_id}/unsubscribe"
    ),
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

# Site routes that take no CSRF token on purpose, and why; they are filled in above too, and
# must work without a token. Any other exemption fails tests/test_csrf_matrix.py.
CSRF_EXEMPT: dict[tuple[str, str], str] = {
    ("newsletter.subscribe", "POST"): "a form on other sites' pages too; it only emails a "
    "confirmation link to the address, which must be followed before anything is sent",
    ("newsletter.confirm", "POST"): "the emailed token is the proof, as in a reset link",
    ("newsletter.unsubscribe", "POST"): "RFC 8058 one-click unsubscribe comes from mail "
    "providers without cookies; the emailed token is the proof",
}
SITE_CASES.update(
    {
        ("newsletter.subscribe", "POST"): SiteCase(
            None, lambda w: "/newsletter/subscribe", lambda w: {"email": "new-reader@example.com"}
        ),
        ("newsletter.confirm", "POST"): SiteCase(
            None, lambda w: f"/newsletter/confirm/{w.subscribe_token}", ok=200
        ),
        ("newsletter.unsubscribe", "POST"): SiteCase(
            None,
            lambda w: f"/newsletter/unsubscribe/{w.unsubscribe_token}",
            lambda w: {"List-Unsubscribe": "One-Click"},
            ok=200,
        ),
    }
)
