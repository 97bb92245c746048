"""Comments on the site: writing, the approval setting, who sees pending ones, moderation."""

from __future__ import annotations

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select

from penpress.blog.models import Comment
from penpress.extensions import db
from penpress.settings.services import set_comments_require_approval
from tests.pages import login


def log_in_as(client: FlaskClient, user) -> None:
    assert login(client, user.email).status_code == 303, "login failed"


def log_out(client: FlaskClient) -> None:
    client.post("/auth/logout")


@pytest.fixture
def set_approval(app, make):
    """Switch the site setting "new comments need approval" as an admin would."""

    def switch(required: bool) -> None:
        with app.app_context():
            set_comments_require_approval(make.user(role_name="admin"), required)
            db.session.commit()

    return switch


def comments(app: Flask) -> list[Comment]:
    with app.app_context():
        return list(db.session.scalars(select(Comment).order_by(Comment.id)))


def approve_url(app: Flask, comment_id: int) -> str:
    with app.test_request_context():
        return url_for("admin.approve_comment", comment_id=comment_id)


@pytest.fixture
def scene(app, make):
    """A published post by ``author``, a reader who comments, another user and a moderator."""
    with app.app_context():
        author = make.user(username="author")
        post = make.post(author=author, title="Open for comments")
        reader = make.user(username="reader", role_name="reader")
        other = make.user(username="bystander")
        moderator = make.user(username="mod", role_name="moderator")
    return {
        "author": author,
        "post": post,
        "reader": reader,
        "other": other,
        "moderator": moderator,
        "url": f"/blog/post/{post.slug}",
    }


def test_commenting_needs_login(app, client, scene):
    response = client.post(f"{scene['url']}/comment", data={"body": "Hello"})
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
    assert comments(app) == []
    html = client.get(scene["url"]).get_data(as_text=True)
    assert "Log in</a> to leave a comment" in html
    assert 'name="body"' not in html


def test_empty_comment_is_rejected(app, client, scene):
    log_in_as(client, scene["reader"])
    response = client.post(f"{scene['url']}/comment", data={"body": "   "})
    assert response.status_code == 422
    assert "Comment cannot be empty." in response.get_data(as_text=True)
    assert comments(app) == []


def test_overlong_comment_is_rejected(app, client, scene):
    log_in_as(client, scene["reader"])
    response = client.post(f"{scene['url']}/comment", data={"body": "x" * 5001})
    assert response.status_code == 422
    assert "at most 5000 characters" in response.get_data(as_text=True)
    assert comments(app) == []


def test_comment_on_missing_post_or_draft_is_404(app, client, make, scene):
    with app.app_context():
        draft = make.post(author=scene["author"], published=False)
    log_in_as(client, scene["reader"])
    assert client.post("/blog/post/nope/comment", data={"body": "Hi"}).status_code == 404
    assert client.post(f"/blog/post/{draft.slug}/comment", data={"body": "Hi"}).status_code == 404
    assert comments(app) == []


def test_with_approval_off_comments_show_at_once(app, client, scene, set_approval):
    set_approval(False)
    log_in_as(client, scene["reader"])
    response = client.post(f"{scene['url']}/comment", data={"body": "Straight in"})
    assert response.status_code == 303
    (comment,) = comments(app)
    assert response.headers["Location"] == f"{scene['url']}#comment-{comment.id}"
    assert comment.approved
    assert "Comment posted." in client.get(scene["url"]).get_data(as_text=True)
    log_out(client)
    html = client.get(scene["url"]).get_data(as_text=True)
    assert "Straight in" in html
    assert "1 comment<" in html


def test_pending_comments_wait_and_are_shown_to_few(app, client, scene, set_approval):
    set_approval(True)
    log_in_as(client, scene["reader"])
    client.post(f"{scene['url']}/comment", data={"body": "Please approve me"})
    (comment,) = comments(app)
    assert not comment.approved

    # The writer sees their own comment, marked as waiting.
    html = client.get(scene["url"]).get_data(as_text=True)
    assert "awaiting approval by a moderator" in html  # the flash
    assert "Please approve me" in html
    assert "Awaiting approval" in html
    log_out(client)

    # Visitors and other users do not see it, and it is not counted.
    html = client.get(scene["url"]).get_data(as_text=True)
    assert "Please approve me" not in html
    assert "0 comments" in html
    log_in_as(client, scene["other"])
    assert "Please approve me" not in client.get(scene["url"]).get_data(as_text=True)
    log_out(client)

    # The post's author sees it, but may not approve it.
    log_in_as(client, scene["author"])
    html = client.get(scene["url"]).get_data(as_text=True)
    assert "Please approve me" in html
    assert "Awaiting approval" in html
    assert approve_url(app, comment.id) not in html
    log_out(client)

    # A moderator sees it with an approve button.
    log_in_as(client, scene["moderator"])
    html = client.get(scene["url"]).get_data(as_text=True)
    assert "Please approve me" in html
    assert f'action="{approve_url(app, comment.id)}"' in html


def test_moderator_approves_and_the_comment_shows(app, client, scene, set_approval):
    set_approval(True)
    log_in_as(client, scene["reader"])
    client.post(f"{scene['url']}/comment", data={"body": "Worth reading"})
    (comment,) = comments(app)
    log_out(client)

    log_in_as(client, scene["moderator"])
    assert client.post(approve_url(app, comment.id)).status_code == 303
    log_out(client)

    html = client.get(scene["url"]).get_data(as_text=True)
    assert "Worth reading" in html
    assert "Awaiting approval" not in html
    assert "1 comment<" in html


@pytest.mark.parametrize("who", ["reader", "author", "other"])
def test_only_moderators_may_approve(app, client, scene, who, set_approval):
    set_approval(True)
    with app.app_context():
        pending = Comment(
            body="Pending", approved=False, author_id=scene["reader"].id, post_id=scene["post"].id
        )
        db.session.add(pending)
        db.session.commit()
    log_in_as(client, scene[who])
    assert client.post(approve_url(app, pending.id)).status_code == 403
    assert comments(app)[0].approved is False


def test_moderators_and_the_post_author_never_wait(app, client, scene, set_approval):
    set_approval(True)
    log_in_as(client, scene["moderator"])
    client.post(f"{scene['url']}/comment", data={"body": "From a moderator"})
    log_out(client)
    log_in_as(client, scene["author"])
    client.post(f"{scene['url']}/comment", data={"body": "From the author"})
    assert [c.approved for c in comments(app)] == [True, True]


def test_writer_deletes_own_comment(app, client, scene, set_approval):
    set_approval(False)
    log_in_as(client, scene["reader"])
    client.post(f"{scene['url']}/comment", data={"body": "Oops"})
    (comment,) = comments(app)
    html = client.get(scene["url"]).get_data(as_text=True)
    assert f'action="/blog/comments/{comment.id}/delete"' in html
    response = client.post(f"/blog/comments/{comment.id}/delete")
    assert response.status_code == 303
    assert response.headers["Location"] == f"{scene['url']}#comments"
    assert comments(app) == []


def test_moderator_deletes_any_comment(app, client, scene, set_approval):
    set_approval(False)
    log_in_as(client, scene["reader"])
    client.post(f"{scene['url']}/comment", data={"body": "Spam spam"})
    log_out(client)
    log_in_as(client, scene["moderator"])
    (comment,) = comments(app)
    assert client.post(f"/blog/comments/{comment.id}/delete").status_code == 303
    assert comments(app) == []


@pytest.mark.parametrize("who", ["other", "author"])
def test_others_may_not_delete_a_comment(app, client, scene, who, set_approval):
    set_approval(False)
    log_in_as(client, scene["reader"])
    client.post(f"{scene['url']}/comment", data={"body": "Mine"})
    log_out(client)
    log_in_as(client, scene[who])
    (comment,) = comments(app)
    assert f"/blog/comments/{comment.id}/delete" not in client.get(scene["url"]).get_data(
        as_text=True
    )
    assert client.post(f"/blog/comments/{comment.id}/delete").status_code == 403
    assert len(comments(app)) == 1


def test_delete_comment_needs_login_and_an_existing_comment(app, client, scene):
    assert client.post("/blog/comments/1/delete").status_code == 302
    log_in_as(client, scene["moderator"])
    assert client.post("/blog/comments/999999/delete").status_code == 404


def test_comment_body_is_shown_as_text_not_html(app, client, scene, set_approval):
    set_approval(False)
    log_in_as(client, scene["reader"])
    client.post(f"{scene['url']}/comment", data={"body": "<script>alert(1)</script> <b>hi</b>"})
    html = client.get(scene["url"]).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_comments_are_rate_limited_per_writer(build_app, make):
    limited = build_app(RATELIMIT_ENABLED=True, RATELIMIT_WRITE="2 per minute")
    with limited.app_context():
        post = make.post()
        first, second = make.user(), make.user()
    url = f"/blog/post/{post.slug}/comment"
    client = limited.test_client()
    assert login(client, first.email).status_code == 303
    assert client.get(f"/blog/post/{post.slug}").status_code == 200
    for n in range(2):
        assert client.post(url, data={"body": f"Comment {n}"}).status_code == 303
    response = client.post(url, data={"body": "One too many"})
    assert response.status_code == 429
    assert "Too many requests" in response.get_data(as_text=True)
    # Another writer from the same address has an allowance of their own.
    other = limited.test_client()
    assert login(other, second.email).status_code == 303
    assert other.post(url, data={"body": "My first"}).status_code == 303
