"""Post authors hear about comments from others, once the comment is saved."""

from __future__ import annotations

from typing import Any

from penpress.blog.services.comments import add_comment
from penpress.extensions import db
from tests.mailbox import html_of, links_in


def test_author_is_emailed_about_a_comment_by_someone_else(
    ctx: None, make: Any, outbox: list[Any]
) -> None:
    author = make.user(email="writer@example.com")
    post = make.post(author=author, title="Tabs <versus> spaces", slug="tabs-versus-spaces")
    reader = make.user(role_name="reader", username="reader1")
    add_comment(reader, post, "Spaces, obviously. <script>alert(1)</script>")
    assert outbox == []  # not before the comment is committed
    db.session.commit()

    (message,) = outbox
    assert message.to == ["writer@example.com"]
    assert message.subject == "New comment on “Tabs <versus> spaces”"
    assert "reader1" in message.body
    assert "Spaces, obviously." in message.body
    assert links_in(message) == ["http://localhost/blog/post/tabs-versus-spaces"]
    html = html_of(message)
    assert 'href="http://localhost/blog/post/tabs-versus-spaces"' in html
    assert "<script>" not in html  # the comment is escaped in the HTML part
    assert "&lt;script&gt;" in html


def test_no_email_for_comments_on_your_own_post(ctx: None, make: Any, outbox: list[Any]) -> None:
    author = make.user()
    add_comment(author, make.post(author=author), "Thanks for reading!")
    db.session.commit()
    assert outbox == []


def test_no_email_when_the_comment_is_rolled_back(ctx: None, make: Any, outbox: list[Any]) -> None:
    post = make.post()
    add_comment(make.user(role_name="reader"), post, "Never saved")
    db.session.rollback()
    db.session.commit()
    assert outbox == []


def test_held_comments_are_announced_as_waiting(ctx: None, make: Any, outbox: list[Any]) -> None:
    post = make.post()
    comment = add_comment(make.user(role_name="reader"), post, "First!")
    db.session.commit()
    assert comment.approved is False  # the default site setting holds comments
    (message,) = outbox
    assert "waits for a moderator" in message.body


def test_deactivated_authors_are_not_emailed(ctx: None, make: Any, outbox: list[Any]) -> None:
    post = make.post(author=make.user(active=False))
    add_comment(make.user(role_name="reader"), post, "Hello?")
    db.session.commit()
    assert outbox == []
