"""Every public service function checks its actor itself.

One table covers every public function of every service module: either a case (how to call it,
who must be refused and how, who is allowed) or an entry in ``OPEN`` saying why anyone may call
it (pure validation, public reads, trusted steps that a verified link or a job vouches for).
A new service function that is in neither fails :func:`test_every_service_function_is_classified`,
so no one can add one without deciding who may call it.
"""

from __future__ import annotations

import inspect
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest

from penpress.accounts import invites, recovery, sessions
from penpress.accounts import services as accounts
from penpress.accounts.models import Invite, SessionKind, User
from penpress.audit import services as audit
from penpress.blog.markdown import render_markdown
from penpress.blog.models import Comment, Page, Post, Tag
from penpress.blog.services import (
    comments,
    console,
    editor,
    favorites,
    pages,
    posts,
    review,
    search,
    stats,
    tags,
)
from penpress.database import utcnow
from penpress.errors import DomainError, Forbidden, Invalid, NotFound, Unauthorized
from penpress.extensions import db
from penpress.media import services as media
from penpress.media.models import Media
from penpress.newsletter import sending
from penpress.newsletter import services as newsletter
from penpress.newsletter.models import PAUSED, Subscriber
from penpress.permissions import Permission
from penpress.settings import services as settings
from penpress.transfer import exporter, importer
from penpress.transfer import services as transfer
from penpress.transfer.models import DONE, EXPORT, RUNNING, TransferRun
from tests import factories, images

SERVICE_MODULES: tuple[ModuleType, ...] = (
    audit,
    accounts,
    invites,
    recovery,
    sessions,
    posts,
    review,
    comments,
    favorites,
    search,
    tags,
    pages,
    stats,
    console,
    editor,
    media,
    settings,
    newsletter,
    sending,
    exporter,
    importer,
    transfer,
)

# Every actor but "unconfirmed" (an author who never confirmed their address) has confirmed
# theirs, and the world asks for confirmed addresses before publishing and commenting.
ACTORS = (
    "anonymous",
    "reader",
    "contributor",
    "author",
    "other_author",
    "moderator",
    "editor",
    "admin",
    "unconfirmed",
    "deactivated",
)


@dataclass
class World:
    """Accounts of every kind and content owned by ``author``."""

    users: dict[str, User]
    target: User  # an ordinary account others act on
    inactive: User  # a deactivated account
    draft: Post  # author's draft
    published: Post  # author's published post
    pending: Comment  # a reader's comment on ``published``, awaiting approval
    approved: Comment  # the same reader's approved comment on ``published``
    contributed: Post  # contributor's draft
    submitted: Post  # contributor's post waiting for review
    tag: Tag  # on ``published``
    invite: Invite  # sent by the editor, pending
    draft_page: Page  # a static page not published yet

    def actor(self, name: str) -> User | None:
        return None if name == "anonymous" else self.users[name]


@pytest.fixture
def world(ctx: None) -> World:
    confirmed = utcnow()
    users = {
        name: factories.UserFactory(username=name, role_name=role, email_confirmed_at=confirmed)
        for name, role in (
            ("reader", "reader"),
            ("contributor", "contributor"),
            ("author", "author"),
            ("other_author", "author"),
            ("moderator", "moderator"),
            ("editor", "editor"),
            ("admin", "admin"),
        )
    }
    users["unconfirmed"] = factories.UserFactory(username="unconfirmed", role_name="author")
    users["deactivated"] = factories.UserFactory(username="deactivated", active=False)
    settings.set_email_confirmation_required(users["admin"], True)
    target = factories.UserFactory(username="target")
    inactive = factories.UserFactory(username="inactive", active=False)
    draft = factories.PostFactory(author=users["author"], published=False, slug="the-draft")
    published = factories.PostFactory(author=users["author"], slug="the-post")
    pending = factories.CommentFactory(post=published, author=users["reader"], approved=False)
    approved = factories.CommentFactory(post=published, author=users["reader"])
    contributed = factories.PostFactory(
        author=users["contributor"], published=False, slug="contributed"
    )
    submitted = factories.PostFactory(
        author=users["contributor"],
        published=False,
        status="submitted",
        submitted_at=confirmed,
        slug="submitted",
    )
    tag = factories.TagFactory(name="python")
    published.tags = [tag]
    invite = invites.create_invite(users["editor"], "invited@example.com", "author")
    draft_page = Page(slug="soon", title="Soon", body="x", body_html=render_markdown("x"))
    db.session.add(draft_page)
    db.session.commit()
    return World(
        users,
        target,
        inactive,
        draft,
        published,
        pending,
        approved,
        contributed,
        submitted,
        tag,
        invite,
        draft_page,
    )


Call = Callable[[World, User | None], Any]
Check = Callable[[World, Any], None]  # what a refused call returned, when it returns


@dataclass
class Case:
    """How to call a service; what each refused actor gets (an error class, or a check of
    what was returned when the refusal is "show nothing"); who may call it."""

    call: Call
    refused: dict[str, type[DomainError] | Check]
    allowed: tuple[str, ...]
    allowed_check: Check | None = field(default=None)


def everyone_but(*allowed: str, error: type[DomainError] = Forbidden) -> dict[str, Any]:
    refused: dict[str, Any] = {name: error for name in ACTORS if name not in allowed}
    refused["anonymous"] = Unauthorized
    return refused


def returns(expected: Any) -> Check:
    def check(_world: World, result: Any) -> None:
        assert result == expected

    return check


def slugs(result: Any) -> set[str]:
    """The slugs of a page of posts, or of a ``(posts, total)`` window."""
    items = result[0] if isinstance(result, tuple) else result.items
    return {post.slug for post in items}


def shows_no_draft(world: World, result: Any) -> None:
    assert world.draft.slug not in slugs(result)


def shows_the_draft(world: World, result: Any) -> None:
    assert world.draft.slug in slugs(result)


def shows_no_pending(world: World, result: Any) -> None:
    assert world.pending.id not in {comment.id for comment in result.items}


def shows_pending(world: World, result: Any) -> None:
    assert world.pending.id in {comment.id for comment in result.items}


def stamps_without_draft(world: World, result: Any) -> None:
    assert world.draft.slug not in {slug for slug, _changed in result}


MANAGE_USERS = everyone_but("admin")
MANAGE_PAGES = everyone_but("admin")
EDIT_POSTS = everyone_but("author", "editor", "admin")
MODERATE = everyone_but("moderator", "editor", "admin")
EDITORS = everyone_but("editor", "admin")


def authors_upload(world: World) -> Media:
    """An upload of ``author``'s (its row only: these services do not read the files)."""
    row = Media(
        owner=world.users["author"],
        name="0123456789abcdef0123456789abcdef.png",
        content_type="image/png",
        width=10,
        height=10,
        byte_size=100,
        widths=[],
    )
    db.session.add(row)
    db.session.flush()
    return row


# Changing a draft through the editor: only its author and admins see it at all.
EDIT_DRAFT = {
    "anonymous": Unauthorized,  # not 404: the editor's script asks to log in again
    "reader": NotFound,
    "contributor": NotFound,
    "other_author": NotFound,
    "moderator": NotFound,
    "deactivated": NotFound,
}
WRITERS_ONLY = {"anonymous": Unauthorized, "reader": Forbidden, "deactivated": Forbidden}

NOT_FOUND_FOR_OTHERS = {
    "anonymous": NotFound,
    "reader": NotFound,
    "contributor": NotFound,
    "other_author": NotFound,
    "moderator": NotFound,
}
# Publishing, submitting and commenting need the right role and a confirmed address.
UNCONFIRMED = {"unconfirmed": Forbidden}

CASES: dict[Callable[..., Any], Case] = {
    # --- the audit log -------------------------------------------------------------------
    audit.entries: Case(
        lambda w, a: audit.entries(a, audit.AuditFilter()), MANAGE_USERS, ("admin",)
    ),
    # --- the dashboard -------------------------------------------------------------------
    stats.dashboard: Case(
        lambda w, a: stats.dashboard(a), MODERATE, ("moderator", "editor", "admin")
    ),
    # --- the console ---------------------------------------------------------------------
    console.console_posts: Case(
        lambda w, a: console.console_posts(a, console.ConsolePostFilter(status="draft")),
        EDITORS,
        ("editor", "admin"),
        shows_the_draft,
    ),
    console.bulk_posts: Case(
        lambda w, a: console.bulk_posts(a, "publish", [w.draft.id]), EDITORS, ("editor", "admin")
    ),
    console.console_comments: Case(
        lambda w, a: console.console_comments(a, state="waiting", post_id=w.published.id),
        MODERATE,
        ("moderator", "editor", "admin"),
    ),
    console.bulk_comments: Case(
        lambda w, a: console.bulk_comments(a, "spam", [w.pending.id]),
        MODERATE,
        ("moderator", "editor", "admin"),
    ),
    console.delete_account: Case(
        lambda w, a: console.delete_account(a, w.target, reassign_to="other_author"),
        MANAGE_USERS,
        ("admin",),
    ),
    tags.merge_tags: Case(
        lambda w, a: tags.merge_tags(a, w.tag.slug, tags.resolve_tags(["rust"])[0].slug),
        EDITORS,
        ("editor", "admin"),
    ),
    recovery.send_password_reset: Case(
        lambda w, a: recovery.send_password_reset(a, w.target), MANAGE_USERS, ("admin",)
    ),
    # --- accounts ------------------------------------------------------------------------
    accounts.get_user: Case(
        lambda w, a: accounts.get_user(a, w.inactive.username),
        {"anonymous": NotFound, "reader": NotFound, "moderator": NotFound},
        ("admin",),
    ),
    accounts.update_profile: Case(
        lambda w, a: accounts.update_profile(a, w.users["author"], bio="Changed"),
        everyone_but("author", "admin"),
        ("author", "admin"),
    ),
    accounts.change_password: Case(
        lambda w, a: accounts.change_password(a, factories.DEFAULT_PASSWORD, "a-new-password"),
        {"anonymous": Unauthorized, "deactivated": Forbidden},
        ("reader",),
    ),
    accounts.request_email_change: Case(
        lambda w, a: accounts.request_email_change(
            a, "moved@example.com", factories.DEFAULT_PASSWORD
        ),
        {"anonymous": Unauthorized, "deactivated": Forbidden},
        ("reader", "admin"),
        returns(True),
    ),
    accounts.change_login_after_fresh_login: Case(
        # The login secret presented is the author's: nobody else may use it.
        lambda w, a: accounts.change_login_after_fresh_login(
            a, _login_of(w.users["author"]), email="moved@example.com", password="a-new-password"
        ),
        {"anonymous": Unauthorized, "reader": Unauthorized, "admin": Unauthorized},
        ("author",),
    ),
    accounts.set_role: Case(
        lambda w, a: accounts.set_role(a, w.target, "admin"), MANAGE_USERS, ("admin",)
    ),
    accounts.set_active: Case(
        lambda w, a: accounts.set_active(a, w.target, False), MANAGE_USERS, ("admin",)
    ),
    accounts.admin_update_user: Case(
        lambda w, a: accounts.admin_update_user(a, w.target, bio="Edited"),
        MANAGE_USERS,
        ("admin",),
    ),
    accounts.delete_user: Case(
        lambda w, a: accounts.delete_user(a, w.target), MANAGE_USERS, ("admin",)
    ),
    accounts.list_users: Case(
        lambda w, a: accounts.list_users(a, 1, 50, include_inactive=True),
        MANAGE_USERS,
        ("admin",),
    ),
    accounts.follow: Case(
        lambda w, a: accounts.follow(a, w.target),
        {"anonymous": Unauthorized, "deactivated": Forbidden},
        ("reader",),
    ),
    accounts.unfollow: Case(
        lambda w, a: accounts.unfollow(a, w.target),
        {"anonymous": Unauthorized, "deactivated": Forbidden},
        ("reader",),
    ),
    accounts.is_following: Case(
        lambda w, a: accounts.is_following(a, w.target),
        {"anonymous": returns(False)},
        ("reader",),
    ),
    accounts.followed_ids: Case(
        lambda w, a: accounts.followed_ids(a, [w.target.id]),
        {"anonymous": returns(set())},
        ("reader",),
    ),
    recovery.resend_confirmation: Case(
        lambda w, a: recovery.resend_confirmation(a),
        {"anonymous": Unauthorized, "deactivated": Forbidden},
        ("reader",),
    ),
    # --- posts ---------------------------------------------------------------------------
    posts.may_edit: Case(
        lambda w, a: posts.may_edit(a, w.published),
        {name: returns(False) for name in ACTORS if name not in ("author", "editor", "admin")},
        ("author", "editor", "admin"),
        returns(True),
    ),
    posts.can_view: Case(
        lambda w, a: posts.can_view(a, w.draft),
        {name: returns(False) for name in NOT_FOUND_FOR_OTHERS},
        ("author", "editor", "admin"),
        returns(True),
    ),
    posts.require_writer: Case(
        lambda w, a: posts.require_writer(a),
        {"anonymous": Unauthorized, "reader": Forbidden, "deactivated": Forbidden},
        ("contributor", "author", "unconfirmed"),
    ),
    posts.require_publisher: Case(
        lambda w, a: posts.require_publisher(a),
        {
            "anonymous": Unauthorized,
            "reader": Forbidden,
            "contributor": Forbidden,
            "deactivated": Forbidden,
            **UNCONFIRMED,
        },
        ("author", "moderator", "editor", "admin"),
    ),
    posts.create_post: Case(
        lambda w, a: posts.create_post(a, title="New", body="Text", published=True),
        {
            "anonymous": Unauthorized,
            "reader": Forbidden,
            "contributor": Forbidden,  # writes drafts; publishing is an editor's
            "deactivated": Forbidden,
            **UNCONFIRMED,
        },
        ("author", "moderator", "editor"),
    ),
    posts.update_post: Case(
        lambda w, a: posts.update_post(a, w.published, title="Hijacked"),
        EDIT_POSTS,
        ("author", "editor", "admin"),
    ),
    posts.delete_post: Case(
        lambda w, a: posts.delete_post(a, w.published), EDIT_POSTS, ("author", "editor", "admin")
    ),
    posts.get_post: Case(
        lambda w, a: posts.get_post(a, w.draft.slug),
        NOT_FOUND_FOR_OTHERS,
        ("author", "editor", "admin"),
    ),
    posts.get_post_by_id: Case(
        lambda w, a: posts.get_post_by_id(a, w.draft.id),
        NOT_FOUND_FOR_OTHERS,
        ("author", "editor", "admin"),
    ),
    posts.get_post_to_edit: Case(
        lambda w, a: posts.get_post_to_edit(a, w.published.id),
        EDIT_POSTS,
        ("author", "editor", "admin"),
    ),
    posts.list_posts: Case(
        lambda w, a: posts.list_posts(
            a, posts.PostFilter(author="author", include_drafts=True), 1, 50
        ),
        dict.fromkeys(NOT_FOUND_FOR_OTHERS, shows_no_draft),
        ("author", "editor", "admin"),
        shows_the_draft,
    ),
    posts.list_posts_window: Case(
        lambda w, a: posts.list_posts_window(
            a, posts.PostFilter(author="author", include_drafts=True), 50, 0
        ),
        dict.fromkeys(NOT_FOUND_FOR_OTHERS, shows_no_draft),
        ("author", "editor", "admin"),
        shows_the_draft,
    ),
    posts.feed: Case(lambda w, a: posts.feed(a), {"anonymous": Unauthorized}, ("reader",)),
    posts.feed_window: Case(
        lambda w, a: posts.feed_window(a, 20, 0), {"anonymous": Unauthorized}, ("reader",)
    ),
    posts.published_post_stamps: Case(
        lambda w, a: posts.published_post_stamps(100),
        {"anonymous": stamps_without_draft},
        ("anonymous",),
    ),
    # --- the editor --------------------------------------------------------------------------
    editor.render_preview: Case(
        lambda w, a: editor.render_preview(a, "**Preview**"), WRITERS_ONLY, ("author", "admin")
    ),
    editor.claim_version: Case(
        lambda w, a: editor.claim_version(a, w.draft.id, editor.version_of(w.draft)),
        EDIT_DRAFT,
        ("author", "admin"),
    ),
    editor.autosave_draft: Case(
        lambda w, a: editor.autosave_draft(
            a, w.draft.id, editor.version_of(w.draft), title="Typed", body="Typing", tags=""
        ),
        EDIT_DRAFT,
        ("author", "admin"),
    ),
    # --- media ---------------------------------------------------------------------------
    media.upload_image: Case(
        lambda w, a: media.upload_image(a, images.png(size=(20, 20)), "tiny.png"),
        WRITERS_ONLY,
        ("author", "moderator"),
    ),
    media.list_uploads: Case(
        lambda w, a: media.list_uploads(a), WRITERS_ONLY, ("author", "other_author")
    ),
    media.get_own_media: Case(
        lambda w, a: media.get_own_media(a, authors_upload(w).id),
        {**WRITERS_ONLY, "other_author": NotFound, "moderator": NotFound},
        ("author", "admin"),
    ),
    media.resolve_image: Case(
        lambda w, a: media.resolve_image(a, authors_upload(w).id),
        {**WRITERS_ONLY, "other_author": Invalid, "moderator": Invalid},
        ("author", "admin"),
    ),
    # --- comments ------------------------------------------------------------------------
    comments.can_see_pending: Case(
        lambda w, a: comments.can_see_pending(a, w.published),
        {name: returns(False) for name in ("anonymous", "reader", "other_author")},
        ("author", "moderator", "admin"),
        returns(True),
    ),
    comments.can_delete_comment: Case(
        lambda w, a: comments.can_delete_comment(a, w.approved),
        {name: returns(False) for name in ("anonymous", "author", "other_author", "deactivated")},
        ("reader", "moderator", "admin"),
        returns(True),
    ),
    comments.can_view_comment: Case(
        lambda w, a: comments.can_view_comment(a, w.pending),
        {name: returns(False) for name in ("anonymous", "other_author")},
        ("reader", "author", "moderator"),
        returns(True),
    ),
    comments.add_comment: Case(
        lambda w, a: comments.add_comment(a, w.published, "Nice post."),
        {"anonymous": Unauthorized, "deactivated": Forbidden, **UNCONFIRMED},
        ("reader", "author"),
    ),
    comments.get_visible_comment: Case(
        lambda w, a: comments.get_visible_comment(a, w.pending.id),
        {"anonymous": NotFound, "other_author": NotFound},
        ("reader", "author", "moderator"),
    ),
    comments.list_comments: Case(
        lambda w, a: comments.list_comments(a, w.published),
        {"anonymous": shows_no_pending, "other_author": shows_no_pending},
        ("reader", "author", "moderator"),
        shows_pending,
    ),
    comments.approve_comment: Case(
        lambda w, a: comments.approve_comment(a, w.pending), MODERATE, ("moderator", "admin")
    ),
    comments.approve_comment_by_id: Case(
        lambda w, a: comments.approve_comment_by_id(a, w.pending.id),
        MODERATE,
        ("moderator", "admin"),
    ),
    comments.delete_comment: Case(
        lambda w, a: comments.delete_comment(a, w.approved),
        {
            "anonymous": Unauthorized,
            "author": Forbidden,  # the post's author may not delete a reader's comment
            "other_author": Forbidden,
            "deactivated": Forbidden,
        },
        ("reader", "moderator", "admin"),
    ),
    comments.reject_comment: Case(
        # Even the comment's own writer may not use the moderators' queue.
        lambda w, a: comments.reject_comment(a, w.approved.id),
        MODERATE,
        ("moderator", "admin"),
    ),
    comments.pending_comments: Case(
        lambda w, a: comments.pending_comments(a), MODERATE, ("moderator", "admin")
    ),
    comments.mark_spam: Case(
        lambda w, a: comments.mark_spam(a, w.pending), MODERATE, ("moderator", "admin")
    ),
    comments.not_spam: Case(
        lambda w, a: comments.not_spam(a, w.pending, approve=True), MODERATE, ("moderator", "admin")
    ),
    # --- favorites -----------------------------------------------------------------------
    favorites.favorite: Case(
        lambda w, a: favorites.favorite(a, w.draft),
        {"anonymous": Unauthorized, "reader": NotFound, "other_author": NotFound},
        ("author", "admin"),
    ),
    favorites.unfavorite: Case(
        lambda w, a: favorites.unfavorite(a, w.published),
        {"anonymous": Unauthorized, "deactivated": Forbidden},
        ("reader",),
    ),
    favorites.favorited_ids: Case(
        lambda w, a: favorites.favorited_ids(a, [w.published.id]),
        {"anonymous": returns(set())},
        ("reader",),
    ),
    favorites.list_favorites: Case(
        lambda w, a: favorites.list_favorites(a), {"anonymous": Unauthorized}, ("reader",)
    ),
    favorites.count_favorites: Case(
        lambda w, a: favorites.count_favorites(a), {"anonymous": Unauthorized}, ("reader",)
    ),
    # --- pages ---------------------------------------------------------------------------
    pages.may_manage_pages: Case(
        lambda w, a: pages.may_manage_pages(a),
        {name: returns(False) for name in ACTORS if name != "admin"},
        ("admin",),
        returns(True),
    ),
    pages.create_page: Case(
        lambda w, a: pages.create_page(a, title="Contact", body="Write to us."),
        MANAGE_PAGES,
        ("admin",),
    ),
    pages.update_page: Case(
        lambda w, a: pages.update_page(a, w.draft_page, title="Hijacked"),
        MANAGE_PAGES,
        ("admin",),
    ),
    pages.delete_page: Case(
        lambda w, a: pages.delete_page(a, w.draft_page), MANAGE_PAGES, ("admin",)
    ),
    pages.get_page_to_edit: Case(
        lambda w, a: pages.get_page_to_edit(a, w.draft_page.id), MANAGE_PAGES, ("admin",)
    ),
    pages.list_pages: Case(lambda w, a: pages.list_pages(a), MANAGE_PAGES, ("admin",)),
    pages.get_page: Case(
        lambda w, a: pages.get_page(a, w.draft_page.slug),
        dict.fromkeys(("anonymous", "reader", "author", "moderator", "deactivated"), NotFound),
        ("admin",),
    ),
    pages.get_about_page: Case(
        # A draft About page is as hidden as any draft (not replaced by the built-in text).
        lambda w, a: pages.get_about_page(a) if _about_draft() else None,
        dict.fromkeys(("anonymous", "reader", "author", "moderator"), NotFound),
        ("admin",),
    ),
    # --- newsletter ----------------------------------------------------------------------
    newsletter.subscribe_account: Case(
        lambda w, a: newsletter.subscribe_account(a),
        {"anonymous": Unauthorized, "deactivated": Forbidden},
        ("reader", "admin"),
    ),
    newsletter.account_subscription: Case(
        lambda w, a: newsletter.account_subscription(a),
        {"anonymous": Unauthorized, "deactivated": Forbidden},
        ("reader",),
    ),
    newsletter.unsubscribe_account: Case(
        lambda w, a: newsletter.unsubscribe_account(a),
        {"anonymous": Unauthorized, "deactivated": Forbidden},
        ("reader",),
    ),
    newsletter.subscriber_counts: Case(
        lambda w, a: newsletter.subscriber_counts(a), MANAGE_USERS, ("admin",)
    ),
    newsletter.list_subscribers: Case(
        lambda w, a: newsletter.list_subscribers(a, "example"), MANAGE_USERS, ("admin",)
    ),
    newsletter.growth: Case(lambda w, a: newsletter.growth(a), MANAGE_USERS, ("admin",)),
    newsletter.export_csv: Case(lambda w, a: newsletter.export_csv(a), MANAGE_USERS, ("admin",)),
    newsletter.import_subscribers: Case(
        lambda w, a: newsletter.import_subscribers(a, b"someone@example.com\n", consent=True),
        MANAGE_USERS,
        ("admin",),
    ),
    newsletter.resume_subscriber: Case(
        lambda w, a: newsletter.resume_subscriber(a, _subscriber().id), MANAGE_USERS, ("admin",)
    ),
    newsletter.unsubscribe_subscriber: Case(
        lambda w, a: newsletter.unsubscribe_subscriber(a, _subscriber().id),
        MANAGE_USERS,
        ("admin",),
    ),
    newsletter.remove_subscriber: Case(
        lambda w, a: newsletter.remove_subscriber(a, _subscriber().id), MANAGE_USERS, ("admin",)
    ),
    # --- the console's export and import ----------------------------------------------------
    transfer.start_export: Case(lambda w, a: transfer.start_export(a), MANAGE_USERS, ("admin",)),
    transfer.start_import: Case(
        lambda w, a: transfer.start_import(a, io.BytesIO(b'{"db": []}'), "ghost.json"),
        MANAGE_USERS,
        ("admin",),
    ),
    transfer.get_run: Case(
        lambda w, a: transfer.get_run(a, _finished_export().id), MANAGE_USERS, ("admin",)
    ),
    transfer.recent_runs: Case(lambda w, a: transfer.recent_runs(a), MANAGE_USERS, ("admin",)),
    transfer.run_status: Case(
        lambda w, a: transfer.run_status(a, _finished_export().id), MANAGE_USERS, ("admin",)
    ),
    transfer.export_download: Case(
        lambda w, a: transfer.export_download(a, _finished_export().id),
        MANAGE_USERS,
        ("admin",),
    ),
    transfer.abandon_run: Case(
        lambda w, a: transfer.abandon_run(a, _stalled_run().id), MANAGE_USERS, ("admin",)
    ),
    sending.may_send: Case(
        lambda w, a: sending.may_send(a, w.published),
        {name: returns(False) for name in ACTORS if name not in ("author", "admin")},
        ("author", "admin"),
        returns(True),
    ),
    sending.send_post_to_subscribers: Case(
        lambda w, a: sending.send_post_to_subscribers(a, w.published),
        EDIT_POSTS,
        ("author", "admin"),
    ),
    sending.cancel_send: Case(
        lambda w, a: sending.cancel_send(a, w.draft), EDIT_POSTS, ("author", "admin")
    ),
    sending.editor_option: Case(
        lambda w, a: sending.editor_option(a, w.published),
        {name: returns(None) for name in ACTORS if name not in ("author", "admin")},
        ("author", "admin"),
    ),
    sending.send_reports: Case(lambda w, a: sending.send_reports(a), MANAGE_USERS, ("admin",)),
    # --- settings ------------------------------------------------------------------------
    settings.set_default_time_zone: Case(
        lambda w, a: settings.set_default_time_zone(a, "Europe/Paris"), MANAGE_USERS, ("admin",)
    ),
    settings.editable_settings: Case(
        lambda w, a: settings.editable_settings(a), MANAGE_USERS, ("admin",)
    ),
    settings.set_comments_require_approval: Case(
        lambda w, a: settings.set_comments_require_approval(a, False), MANAGE_USERS, ("admin",)
    ),
    settings.set_email_confirmation_required: Case(
        lambda w, a: settings.set_email_confirmation_required(a, False), MANAGE_USERS, ("admin",)
    ),
    settings.set_registration_policy: Case(
        lambda w, a: settings.set_registration_policy(a, "invite"), MANAGE_USERS, ("admin",)
    ),
    settings.update_settings: Case(
        lambda w, a: settings.update_settings(a, {settings.SITE_TITLE: "Renamed"}),
        MANAGE_USERS,
        ("admin",),
    ),
    settings.set_comments_mode: Case(
        lambda w, a: settings.set_comments_mode(a, "registered"), MANAGE_USERS, ("admin",)
    ),
    settings.set_default_role: Case(
        lambda w, a: settings.set_default_role(a, "contributor"), MANAGE_USERS, ("admin",)
    ),
    # --- accounts: confirmation, approval, last admin ------------------------------------
    accounts.require_confirmed: Case(
        lambda w, a: accounts.require_confirmed(a, Permission.COMMENT),
        {"anonymous": Unauthorized, "deactivated": Forbidden, **UNCONFIRMED},
        ("reader", "contributor", "admin"),
    ),
    accounts.approve_user: Case(
        lambda w, a: accounts.approve_user(a, _pending_account()), MANAGE_USERS, ("admin",)
    ),
    accounts.reject_user: Case(
        lambda w, a: accounts.reject_user(a, _pending_account()), MANAGE_USERS, ("admin",)
    ),
    accounts.pending_users: Case(lambda w, a: accounts.pending_users(a), MANAGE_USERS, ("admin",)),
    # --- invitations ---------------------------------------------------------------------
    invites.create_invite: Case(
        lambda w, a: invites.create_invite(a, "newcomer@example.com", "author"),
        EDITORS,  # a moderator cannot invite
        ("editor", "admin"),
    ),
    invites.pending_invites: Case(lambda w, a: invites.pending_invites(a), EDITORS, ("editor",)),
    invites.revoke_invite: Case(
        # The editor sent it: they and any admin may withdraw it, another inviter may not.
        lambda w, a: invites.revoke_invite(a, w.invite.id),
        EDITORS,
        ("editor", "admin"),
    ),
    # --- the review queue ----------------------------------------------------------------
    review.submit_post: Case(
        lambda w, a: review.submit_post(a, w.contributed),
        {
            "anonymous": Unauthorized,
            "reader": Forbidden,
            "other_author": NotFound,
            "editor": Forbidden,  # sees it, but only its writer submits it
            "deactivated": Forbidden,
        },
        ("contributor",),
    ),
    review.publish_new_post: Case(
        lambda w, a: review.publish_new_post(a, title="Conduit", body="No drafts there."),
        {"anonymous": Unauthorized, "reader": Forbidden, "deactivated": Forbidden, **UNCONFIRMED},
        ("contributor", "author"),
    ),
    review.review_queue: Case(lambda w, a: review.review_queue(a), EDITORS, ("editor", "admin")),
    review.publish_submission: Case(
        lambda w, a: review.publish_submission(a, w.submitted.id),
        EDITORS,
        ("editor", "admin"),
    ),
    review.return_submission: Case(
        lambda w, a: review.return_submission(a, w.submitted.id, "More examples, please."),
        EDITORS,
        ("editor", "admin"),
    ),
    review.reject_submission: Case(
        lambda w, a: review.reject_submission(a, w.submitted.id, None),
        EDITORS,
        ("editor", "admin"),
    ),
    # --- tags ----------------------------------------------------------------------------
    tags.manage_tags: Case(lambda w, a: tags.manage_tags(a), EDITORS, ("editor", "admin")),
    tags.rename_tag: Case(
        lambda w, a: tags.rename_tag(a, w.tag.slug, "Python 3"), EDITORS, ("editor", "admin")
    ),
    tags.delete_tag: Case(
        lambda w, a: tags.delete_tag(a, w.tag.slug), EDITORS, ("editor", "admin")
    ),
}

PURE = "pure: validates or converts its arguments, reads and changes nothing"
PUBLIC = "public: what it reads is shown to every visitor"
OPEN: dict[Callable[..., Any], str] = {
    audit.record: "trusted: the services call it after their own checks",
    audit.changed: PURE,
    audit.install_guards: "set-up: makes the ORM refuse to change audit entries",
    posts.post_subject: PURE,
    comments.comment_subject: PURE,
    search.search_posts: "anyone may search: it finds only posts every reader sees now",
    search.search_pages: "anyone may search: it finds only published pages, shown to everyone",
    exporter.export_site: "trusted: the CLI's export (whoever runs it holds the database)",
    importer.load: "trusted: the CLI's imports write what the operator chose to import",
    importer.validate: "pure validation of a file, writes nothing",
    importer.open_zip: "opens a file the operator named, writes nothing",
    importer.after_import: "empties the cache after a trusted import; changes no data",
    transfer.detect_format: PURE,
    transfer.transfer_folder: "set-up: the folder of the files, created if missing",
    transfer.claim_run: "trusted: the job marks the run it was queued for (after the check)",
    transfer.perform_export: "trusted: the export job an administrator started",
    transfer.perform_import: "trusted: the import job an administrator started",
    transfer.fail_run: "trusted: the job records why its run failed",
    transfer.remove_upload: "trusted: the import job deletes its own upload",
    accounts.normalize_email: PURE,
    accounts.check_username: PURE,
    accounts.check_password: PURE,
    accounts.check_image_url: PURE,
    accounts.check_bio: PURE,
    accounts.hash_password: PURE,
    accounts.ensure_roles: "set-up: brings the role table up to date (init-db, create-admin)",
    accounts.find_user_by_email: "trusted lookup for authentication, recovery and the demo",
    accounts.register_user: "anyone may sign up, with the default role only",
    accounts.create_account: "trusted: the CLI's create-admin and the demo seed choose roles",
    accounts.authenticate: "anyone may log in: the credentials are the proof",
    accounts.reset_password: "trusted: called after a verified password-reset link",
    accounts.apply_email_change: "trusted: called after a verified address-change link",
    accounts.mark_email_confirmed: "trusted: called after a verified confirmation link",
    accounts.follower_count: PUBLIC,
    accounts.following_count: PUBLIC,
    recovery.confirm_email_with_token: "the signed link is the proof",
    recovery.request_password_reset: "anyone may ask; the answer never says if the address exists",
    recovery.check_reset_token: "the signed link is the proof",
    recovery.reset_password_with_token: "the signed link is the proof",
    recovery.confirmation_to_send: "trusted: the email job asks what is still to send",
    recovery.reset_to_send: "trusted: the email job asks what is still to send",
    recovery.check_email_change_token: "the signed link is the proof",
    recovery.change_email_with_token: "the signed link is the proof",
    recovery.email_change_to_send: "trusted: the email job asks what is still to send",
    recovery.email_change_notice_to_send: "trusted: the email job asks whom to tell",
    sessions.start_session: "trusted plumbing: after authentication succeeded",
    sessions.find_session: "trusted plumbing: the secret presented is the proof",
    sessions.find_live_login: "trusted plumbing: the secret presented is the proof",
    sessions.find_session_user: "trusted plumbing: the secret presented is the proof",
    sessions.end_session: "trusted plumbing: logging out the secret presented",
    sessions.end_all_sessions: "trusted plumbing: after a password change or deactivation",
    sessions.purge_expired_sessions: "maintenance: removes expired rows only",
    posts.post_loader: "query options: reads nothing by itself",
    posts.record_view: "anyone reading a post they may see counts a view",
    posts.count_cached_view: "an anonymous reader was served the post's page from the cache",
    posts.published_authors: PUBLIC + " (authors of published posts)",
    posts.post_status: PURE,
    posts.mark_due_posts_live: "trusted: the periodic went-live job (changes no one's content)",
    posts.post_to_announce: "trusted: the went-live job asks whether the post is still live",
    pages.reserved_slugs: PUBLIC + " (the site's own paths)",
    pages.check_slug: "validation: says whether a slug is free, changes nothing",
    pages.slug_for: PURE,
    pages.nav_pages: PUBLIC + " (published pages in the navigation)",
    pages.published_page_stamps: PUBLIC + " (published pages, for the sitemap)",
    accounts.time_zone_of: "reads a user's time zone preference, shown to themselves",
    settings.default_time_zone: PUBLIC,
    comments.comment_to_notify: "trusted: the notification job asks what is still to send",
    tags.tag_slug: PURE,
    tags.parse_tag_names: PURE,
    tags.clean_tag_names: PURE,
    tags.tag_order: PURE,
    tags.resolve_tags: "a step of create_post/update_post, which check the actor",
    tags.get_tag: PUBLIC,
    tags.tags_with_counts: PUBLIC + " (counts of published posts)",
    tags.invalidate_tag_counts: "drops a cache entry; changes no data",
    editor.version_of: PURE,
    media.megabytes: PURE,
    media.max_upload_bytes: PURE + " (a setting)",
    media.display_name: PURE,
    media.find_by_names: PUBLIC + " (uploaded images are public files; for rendering posts)",
    newsletter.request_subscription: "anyone may ask; the answer never says if it is known",
    newsletter.check_confirmation_token: "the signed link is the proof",
    newsletter.confirm_with_token: "the signed link is the proof",
    newsletter.check_unsubscribe_token: "the signed link is the proof",
    newsletter.unsubscribe_with_token: "the signed link is the proof",
    newsletter.confirmation_to_send: "trusted: the email job asks what is still to send",
    newsletter.parse_subscriber_csv: PURE,
    newsletter.confirmed_count: "a number, no address: shown to writers in the editor",
    sending.is_live: PURE,
    sending.batch_interval: PURE + " (of the configuration)",
    sending.post_went_live: "trusted: the moment a post goes live (a job)",
    sending.start_due_sends: "trusted: the periodic job",
    sending.plan_send: "trusted: the send's start job, after the permission was checked",
    sending.batch_to_send: "trusted: a batch job asks what is still to send",
    sending.claim_delivery: "trusted: a step of a batch job",
    sending.record_sent: "trusted: a step of a batch job",
    sending.record_refusal: "trusted: a step of a batch job",
    sending.release_delivery: "trusted: a step of a batch job",
    settings.site_title: PUBLIC,
    settings.comments_require_approval: PUBLIC,
    settings.email_confirmation_required: PUBLIC,
    settings.registration_policy: PUBLIC,
    settings.default_role: PUBLIC,
    settings.locked_by_environment: PUBLIC + " (names of environment variables, no values)",
    settings.template_context: PUBLIC,
    settings.current: "the saved settings every reader below serves from; no admin-only value",
    settings.cache_generation: "a counter's value, which keys cached copies; reveals nothing",
    settings.site_shape_changed: "trusted: the pages service calls it after its own checks",
    settings.site_description: PUBLIC,
    settings.logo: PUBLIC,
    settings.favicon: PUBLIC,
    settings.accent_color: PUBLIC,
    settings.style_version: PUBLIC,
    settings.nav_links: PUBLIC,
    settings.nav_links_text: PURE,
    settings.footer_text: PUBLIC,
    settings.posts_per_page: PUBLIC,
    settings.language: PUBLIC,
    settings.comments_mode: PUBLIC,
    settings.identity: PUBLIC,
    settings.default_identity: PURE,
    settings.check_settings: PURE + " (checks values; update_settings saves them)",
    comments.comments_open: PUBLIC,
    comments.must_confirm_to_comment: "about the viewer's own account",
    accounts.registration_refusal: PUBLIC + " (why the sign-up form is closed)",
    accounts.must_confirm_email: "reads only the viewer's own confirmation, for their pages",
    accounts.role_named: "lookup of a role by name, for the trusted account creation steps",
    accounts.approval_request_to_send: "trusted: the approval-request job asks what to send",
    accounts.approval_to_announce: "trusted: the account-approved job asks what to send",
    invites.check_invite: "the signed invitation link is the proof",
    invites.accept_invite: "the signed invitation link is the proof (single use)",
    invites.invite_to_send: "trusted: the invitation email job asks what is still to send",
    review.review_to_send: "trusted: the review-decision email job asks what to send",
}


def _about_draft() -> bool:
    """Make the page "about" a draft (for the refusals of ``get_about_page``)."""
    db.session.add(Page(slug="about", title="About", body="x", body_html="<p>x</p>"))
    db.session.flush()
    return True


def _pending_account() -> User:
    """An account that signed up while the site asked for approval."""
    return factories.UserFactory(active=False, pending_approval=True)


def _subscriber() -> Subscriber:
    """A paused subscriber for the administrators' actions to act on."""
    subscriber = Subscriber(email="listed@example.com", status=PAUSED, secret="s" * 32, failures=3)
    db.session.add(subscriber)
    db.session.flush()
    return subscriber


def _finished_export() -> TransferRun:
    """A finished export whose file is in the transfer folder."""
    run = TransferRun(kind=EXPORT, state=DONE, file_name="export-test.zip", finished_at=utcnow())
    db.session.add(run)
    db.session.flush()
    (transfer.transfer_folder() / "export-test.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    return run


def _stalled_run() -> TransferRun:
    """An export whose job stopped reporting an hour ago (its worker died)."""
    run = TransferRun(kind=EXPORT, state=RUNNING, started_at=utcnow() - timedelta(hours=1))
    db.session.add(run)
    db.session.flush()
    return run


def _login_of(user: User) -> str:
    secret, _ = sessions.start_session(user, SessionKind.WEB, timedelta(hours=1))
    return secret


def public_functions() -> set[Callable[..., Any]]:
    return {
        function
        for module in SERVICE_MODULES
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if function.__module__ == module.__name__ and not name.startswith("_")
    }


def test_every_service_function_is_classified() -> None:
    functions = public_functions()
    unclassified = sorted(
        f"{f.__module__}.{f.__name__}" for f in functions - set(CASES) - set(OPEN)
    )
    assert unclassified == [], "add each to CASES (who is refused) or OPEN (why anyone may)"
    assert not set(CASES) & set(OPEN)
    stale = sorted(f.__name__ for f in (set(CASES) | set(OPEN)) - functions)
    assert stale == []


REFUSALS = [
    pytest.param(function, actor, id=f"{function.__name__}-{actor}")
    for function, case in CASES.items()
    for actor in case.refused
]
ALLOWED = [
    pytest.param(function, actor, id=f"{function.__name__}-{actor}")
    for function, case in CASES.items()
    for actor in case.allowed
]


@pytest.mark.parametrize(("function", "actor"), REFUSALS)
def test_services_refuse_who_may_not(
    world: World, function: Callable[..., Any], actor: str
) -> None:
    case = CASES[function]
    expected = case.refused[actor]
    if isinstance(expected, type):
        with pytest.raises(expected):
            case.call(world, world.actor(actor))
    else:
        expected(world, case.call(world, world.actor(actor)))
    db.session.rollback()


@pytest.mark.parametrize(("function", "actor"), ALLOWED)
def test_services_let_who_may(world: World, function: Callable[..., Any], actor: str) -> None:
    # The positive control: the same call succeeds for someone allowed, so the refusals above
    # come from the permission check, not from a broken call.
    case = CASES[function]
    result = case.call(world, world.actor(actor))
    if case.allowed_check is not None:
        case.allowed_check(world, result)
    db.session.flush()
    db.session.rollback()
