"""The audit log: an entry for every kind of action, written in the action's transaction, never
changed afterwards, and shown to administrators only."""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from penpress.accounts import invites, recovery
from penpress.accounts import services as accounts
from penpress.accounts.models import User
from penpress.audit import services as audit
from penpress.audit.models import AuditEntry
from penpress.blog.models import Comment, Post, Tag
from penpress.blog.services import comments, console, posts, review, tags
from penpress.database import utcnow
from penpress.extensions import db
from penpress.newsletter import sending
from penpress.newsletter import services as newsletter
from penpress.newsletter.models import Subscriber
from penpress.settings import services as settings
from penpress.transfer import services as transfer
from penpress.transfer.models import TransferRun
from tests import factories
from tests.api.v1.conftest import issue_pair
from tests.pages import login


@dataclass
class Scene:
    admin: User
    editor: User
    moderator: User
    author: User
    target: User
    post: Post
    draft: Post
    submitted: Post
    pending: Comment
    tag: Tag


@pytest.fixture
def scene(ctx: None) -> Scene:
    now = utcnow()
    admin = factories.UserFactory(username="boss", role_name="admin", email_confirmed_at=now)
    editor = factories.UserFactory(username="ed", role_name="editor", email_confirmed_at=now)
    moderator = factories.UserFactory(username="mo", role_name="moderator")
    author = factories.UserFactory(username="writer")
    target = factories.UserFactory(username="target", role_name="reader")
    post = factories.PostFactory(author=author, title="Hello world", slug="hello")
    draft = factories.PostFactory(author=author, title="A draft", published=False, slug="draft")
    submitted = factories.PostFactory(
        author=author,
        title="Please review",
        published=False,
        status="submitted",
        submitted_at=now,
        slug="submitted",
    )
    pending = factories.CommentFactory(post=post, author=target, approved=False, body="Hi!")
    tag = factories.TagFactory(name="python")
    post.tags = [tag]
    db.session.commit()
    return Scene(admin, editor, moderator, author, target, post, draft, submitted, pending, tag)


def _subscriber(status: str = "paused") -> int:
    subscriber = Subscriber(
        email="fan@example.com", status=status, secret=secrets.token_hex(16), failures=3
    )
    db.session.add(subscriber)
    db.session.flush()
    return subscriber.id


def _finished_export() -> int:
    run = TransferRun(kind="export", state="done", file_name="export-a.zip", finished_at=utcnow())
    db.session.add(run)
    db.session.flush()
    (transfer.transfer_folder() / "export-a.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    return run.id


def _stalled_run() -> int:
    """An import whose job stopped reporting an hour ago (its worker died)."""
    started = utcnow() - timedelta(hours=1)
    run = TransferRun(kind="import", format="ghost", state="running", started_at=started)
    db.session.add(run)
    db.session.flush()
    return run.id


def _pending_account() -> User:
    return factories.UserFactory(username="newcomer", active=False, pending_approval=True)


# How to do each kind of action, and what the entry must say: (actor, object type, a changed
# field with its before and after, or None when the entry lists no changes).
Do = Callable[[Scene], Any]
ACTIONS: dict[str, tuple[Do, str, str, tuple[str, Any, Any] | None]] = {
    "user.update": (
        lambda s: accounts.update_profile(s.admin, s.target, bio="Spam"),
        "boss",
        "user",
        ("bio", "", "Spam"),
    ),
    "user.role": (
        lambda s: accounts.set_role(s.admin, s.target, "editor"),
        "boss",
        "user",
        ("role", "reader", "editor"),
    ),
    "user.deactivate": (
        lambda s: accounts.set_active(s.admin, s.target, False),
        "boss",
        "user",
        ("active", True, False),
    ),
    "user.reactivate": (
        lambda s: (
            accounts.set_active(s.admin, s.target, False),
            accounts.set_active(s.admin, s.target, True),
        ),
        "boss",
        "user",
        ("active", False, True),
    ),
    "user.approve": (
        lambda s: accounts.approve_user(s.admin, _pending_account()),
        "boss",
        "user",
        ("active", False, True),
    ),
    "user.reject": (
        lambda s: accounts.reject_user(s.admin, _pending_account()),
        "boss",
        "user",
        None,
    ),
    "user.delete": (lambda s: accounts.delete_user(s.admin, s.target), "boss", "user", None),
    "user.password_reset": (
        lambda s: recovery.send_password_reset(s.admin, s.target),
        "boss",
        "user",
        None,
    ),
    "invite.create": (
        lambda s: invites.create_invite(s.editor, "friend@example.com", "contributor"),
        "ed",
        "invite",
        None,
    ),
    "invite.revoke": (
        lambda s: invites.revoke_invite(
            s.editor, invites.create_invite(s.editor, "friend@example.com", "author").id
        ),
        "ed",
        "invite",
        None,
    ),
    "post.update": (
        lambda s: posts.update_post(s.editor, s.post, title="Hello, world"),
        "ed",
        "post",
        ("title", "Hello world", "Hello, world"),
    ),
    "post.publish": (
        lambda s: posts.update_post(s.editor, s.draft, published=True),
        "ed",
        "post",
        ("published", False, True),
    ),
    "post.unpublish": (
        lambda s: posts.update_post(s.editor, s.post, published=False),
        "ed",
        "post",
        ("status", "published", "draft"),
    ),
    "post.delete": (lambda s: posts.delete_post(s.editor, s.post), "ed", "post", None),
    "review.publish": (
        lambda s: review.publish_submission(s.editor, s.submitted.id),
        "ed",
        "post",
        ("status", "submitted", "published"),
    ),
    "review.return": (
        lambda s: review.return_submission(s.editor, s.submitted.id, "More, please."),
        "ed",
        "post",
        ("status", "submitted", "returned"),
    ),
    "review.reject": (
        lambda s: review.reject_submission(s.editor, s.submitted.id, None),
        "ed",
        "post",
        ("status", "submitted", "rejected"),
    ),
    "comment.approve": (
        lambda s: comments.approve_comment_by_id(s.moderator, s.pending.id),
        "mo",
        "comment",
        ("approved", False, True),
    ),
    "comment.spam": (
        lambda s: console.bulk_comments(s.moderator, "spam", [s.pending.id]),
        "mo",
        "comment",
        ("spam", False, True),
    ),
    "comment.not_spam": (
        lambda s: (
            comments.mark_spam(s.moderator, s.pending),
            console.bulk_comments(s.moderator, "not_spam", [s.pending.id]),
        ),
        "mo",
        "comment",
        ("spam", True, False),
    ),
    "comment.delete": (
        lambda s: comments.reject_comment(s.moderator, s.pending.id),
        "mo",
        "comment",
        None,
    ),
    "tag.rename": (
        lambda s: tags.rename_tag(s.editor, "python", "Python 3"),
        "ed",
        "tag",
        ("name", "python", "Python 3"),
    ),
    "tag.merge": (
        lambda s: tags.merge_tags(s.editor, "python", tags.resolve_tags(["rust"])[0].name),
        "ed",
        "tag",
        None,
    ),
    "tag.delete": (lambda s: tags.delete_tag(s.editor, "python"), "ed", "tag", None),
    "subscriber.resume": (
        lambda s: newsletter.resume_subscriber(s.admin, _subscriber()),
        "boss",
        "subscriber",
        ("status", "paused", "confirmed"),
    ),
    "subscriber.unsubscribe": (
        lambda s: newsletter.unsubscribe_subscriber(s.admin, _subscriber("confirmed")),
        "boss",
        "subscriber",
        ("status", "confirmed", "unsubscribed"),
    ),
    "subscriber.remove": (
        lambda s: newsletter.remove_subscriber(s.admin, _subscriber()),
        "boss",
        "subscriber",
        None,
    ),
    "subscriber.import": (
        lambda s: newsletter.import_subscribers(s.admin, b"email\nnew@example.com\n", consent=True),
        "boss",
        "subscriber",
        None,
    ),
    "newsletter.send": (
        lambda s: sending.send_post_to_subscribers(s.admin, s.post),
        "boss",
        "post",
        None,
    ),
    "transfer.export": (lambda s: transfer.start_export(s.admin), "boss", "transfer", None),
    "transfer.download": (
        lambda s: transfer.export_download(s.admin, _finished_export()),
        "boss",
        "transfer",
        None,
    ),
    "transfer.import": (
        lambda s: transfer.start_import(s.admin, io.BytesIO(b'{"db": []}'), "ghost.json"),
        "boss",
        "transfer",
        None,
    ),
    "transfer.abandon": (
        lambda s: transfer.abandon_run(s.admin, _stalled_run()),
        "boss",
        "transfer",
        None,
    ),
    "setting.change": (
        lambda s: settings.set_registration_policy(s.admin, "invite"),
        "boss",
        "setting",
        ("registration", "open", "invite"),
    ),
}


def entries() -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_every_action_the_log_knows_is_tested_here() -> None:
    assert set(ACTIONS) == set(audit.ACTIONS)


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_action_leaves_an_entry(scene: Scene, action: str) -> None:
    do, actor, object_type, change = ACTIONS[action]
    do(scene)
    db.session.commit()
    found = [entry for entry in entries() if entry.action == action]
    assert len(found) == 1, [entry.action for entry in entries()]
    entry = found[0]
    assert entry.actor_name == actor
    assert entry.object_type == object_type
    assert entry.object_id is not None or action == "subscriber.import"
    assert entry.created_at is not None
    assert entry.source == "job"  # no request, no command: not the site nor an API
    if change is not None:
        field, before, after = change
        assert entry.changes[field] == [before, after]


def test_changes_without_effect_and_own_content_leave_no_entry(scene: Scene) -> None:
    accounts.set_role(scene.admin, scene.target, "reader")  # already a reader
    settings.set_comments_require_approval(scene.admin, settings.comments_require_approval())
    posts.update_post(scene.author, scene.post, title="My own title")  # the writer's own post
    comments.delete_comment(scene.target, scene.pending)  # the writer takes theirs back
    db.session.commit()
    assert entries() == []


def test_a_rolled_back_action_leaves_no_entry(scene: Scene) -> None:
    accounts.set_role(scene.admin, scene.target, "editor")
    tags.rename_tag(scene.editor, "python", "Py")
    db.session.rollback()
    assert entries() == []
    assert db.session.get_one(User, scene.target.id).role.name == "reader"


def test_a_refused_request_leaves_no_entry_for_its_earlier_steps(
    app: Flask, client: FlaskClient, make
) -> None:
    """The API changes the role, then refuses the bio: the request rolls back, entry too."""
    admin = make.user(role_name="admin")
    target = make.user(role_name="reader")
    token = issue_pair(app, admin).access_token
    response = client.patch(
        f"/api/v1/users/{target.username}",
        json={"role": "editor", "bio": "x" * (accounts.BIO_MAX_LENGTH + 1)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0
        assert db.session.get_one(User, target.id).role.name == "reader"


def test_entries_name_the_front_door_and_the_client_address(
    app: Flask, client: FlaskClient, make
) -> None:
    admin = make.user(role_name="admin")
    target = make.user(role_name="reader")
    login(client, admin.email)
    response = client.post(
        f"/admin/users/{target.username}/role",
        data={"role": "moderator"},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert response.status_code == 303
    with app.app_context():
        (entry,) = entries()
    assert (entry.action, entry.source, entry.address) == ("user.role", "site", "192.0.2.7")
    assert entry.actor_id == admin.id
    assert entry.object_label == target.username


def test_entries_outlive_what_they_name(scene: Scene) -> None:
    name = scene.target.username
    accounts.delete_user(scene.admin, scene.target)
    db.session.commit()
    (entry,) = entries()
    assert entry.object_label == name
    assert entry.details["email"] == f"{name}@example.com"


def test_long_values_are_clipped(scene: Scene) -> None:
    posts.update_post(scene.editor, scene.post, body="word " * 500)
    db.session.commit()
    (entry,) = entries()
    assert len(entry.changes["body"][1]) == audit.VALUE_MAX_LENGTH


@pytest.mark.parametrize(
    "change",
    [
        lambda entry: setattr(entry, "action", "user.role"),
        lambda entry: db.session.delete(entry),
    ],
)
def test_the_application_cannot_change_or_delete_an_entry(
    scene: Scene, change: Callable[[AuditEntry], None]
) -> None:
    accounts.set_role(scene.admin, scene.target, "editor")
    db.session.commit()
    (entry,) = entries()
    change(entry)
    with pytest.raises(audit.AppendOnlyError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize(
    "statement",
    [update(AuditEntry).values(action="user.role"), delete(AuditEntry)],
    ids=["update", "delete"],
)
def test_bulk_statements_cannot_change_entries(scene: Scene, statement: Any) -> None:
    accounts.set_role(scene.admin, scene.target, "editor")
    db.session.commit()
    with pytest.raises(audit.AppendOnlyError):
        db.session.execute(statement)
    db.session.rollback()
    assert len(entries()) == 1


def test_unknown_actions_are_a_programming_error(scene: Scene) -> None:
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(scene.admin, "user.smile", audit.Subject("user", 1))


@pytest.mark.postgres  # the trigger is PostgreSQL's
@pytest.mark.parametrize(
    "sql", ["UPDATE audit_log SET action = 'user.role'", "DELETE FROM audit_log"]
)
def test_postgresql_refuses_changes_past_the_orm(scene: Scene, sql: str) -> None:
    accounts.set_role(scene.admin, scene.target, "editor")
    db.session.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(sql))
    db.session.rollback()
    assert len(entries()) == 1


def test_api_actions_are_logged_with_their_front_door(
    app: Flask, client: FlaskClient, make
) -> None:
    admin = make.user(role_name="admin")
    target = make.user(role_name="reader")
    token = issue_pair(app, admin).access_token
    response = client.patch(
        f"/api/v1/users/{target.username}",
        json={"role": "contributor"},
        headers={"Authorization": f"Bearer {token}"},
        environ_base={"REMOTE_ADDR": "198.51.100.4"},
    )
    assert response.status_code == 200
    with app.app_context():
        (entry,) = entries()
    assert (entry.action, entry.source, entry.address) == ("user.role", "api", "198.51.100.4")
    assert entry.changes == {"role": ["reader", "contributor"]}
