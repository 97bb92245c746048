"""The ``flask --app penpress`` commands."""

from __future__ import annotations

from sqlalchemy import func, select

from penpress.accounts.models import User
from penpress.blog.models import Comment, Post, Tag, post_tags
from penpress.extensions import db


def test_seed_db_creates_accounts_posts_tags_and_comments(app):
    result = app.test_cli_runner().invoke(args=["seed-db"])
    assert result.exit_code == 0, result.output
    assert "admin@example.com" in result.output
    with app.app_context():
        # The documented defaults: the five demo accounts, 30 posts, 3 comments per post; every
        # tag made is on some post.
        assert db.session.scalar(select(func.count(User.id))) == 5
        assert db.session.scalar(select(func.count(Post.id))) == 30
        assert db.session.scalar(select(func.count(Comment.id))) == 90
        tags = db.session.scalar(select(func.count(Tag.id)))
        used = db.session.scalar(select(func.count(func.distinct(post_tags.c.tag_id))))
        assert tags == used
        assert used > 0
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        assert admin is not None
        assert admin.is_admin
    again = app.test_cli_runner().invoke(args=["seed-db", "--posts", "1", "--comments", "0"])
    assert "already existed" in again.output


def test_create_admin(app):
    runner = app.test_cli_runner()
    args = ["create-admin", "--username", "boss", "--email", "boss@example.com"]
    result = runner.invoke(args=[*args, "--password", "very-secret-pw"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        boss = db.session.scalar(select(User).where(User.username == "boss"))
        assert boss is not None
        assert boss.is_admin
    duplicate = runner.invoke(args=[*args, "--password", "very-secret-pw"])
    assert duplicate.exit_code == 1  # click's usage errors would be 2: this is the service's
    assert duplicate.output == (
        "Error: That username is taken.; That email is already registered.\n"
    )
    weak = runner.invoke(
        args=["create-admin", "--username", "b2", "--email", "b2@example.com", "--password", "x"]
    )
    assert weak.exit_code == 1
    assert "Password must be 8 to 128 characters long." in weak.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1  # only boss


def test_init_db_is_idempotent_and_seeds_only_an_empty_database(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["init-db", "--seed-if-empty"])
    assert first.exit_code == 0, first.output
    assert "Seeded" in first.output
    second = runner.invoke(args=["init-db", "--seed-if-empty"])
    assert second.exit_code == 0, second.output
    assert "Seeded" not in second.output
