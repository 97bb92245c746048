"""The counters lists show instead of counting: kept right by every path that changes them.

Each test changes something through the services (or an account deletion, whose rows go by
cascade) and checks the number it moved, then that every counter still equals a recount
from the rows (``counts.recount``).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from penpress.accounts import services as accounts
from penpress.blog import counts, services
from penpress.blog.models import Post, Tag, post_tags
from penpress.extensions import db
from penpress.settings.services import set_comments_require_approval
from tests.conftest import Make


def stored() -> dict[str, object]:
    db.session.flush()
    return counts.snapshot()


def assert_counters_match_recount() -> None:
    """Every counter and copy as the services left it equals a recount from the rows."""
    before = stored()
    counts.recount()
    db.session.expire_all()
    assert stored() == before


def post_counts(post: Post) -> tuple[int, int]:
    row = db.session.execute(
        select(Post.comment_count, Post.favorites_count).where(Post.id == post.id)
    ).one()
    return int(row[0]), int(row[1])


def tag_count(name: str) -> int:
    return int(db.session.scalar(select(Tag.post_count).where(Tag.name == name)) or 0)


@pytest.fixture
def people(ctx: None, make: Make) -> dict[str, Any]:
    return {
        "author": make.user(username="writer"),
        "reader": make.user(username="reader", role_name="reader"),
        "moderator": make.user(username="mod", role_name="moderator"),
        "admin": make.user(username="boss", role_name="admin"),
    }


def test_comments_count_when_approved_and_uncount_when_deleted(people: dict[str, Any]) -> None:
    author, reader, moderator = people["author"], people["reader"], people["moderator"]
    set_comments_require_approval(people["admin"], True)
    post = services.create_post(author, title="Talk", body="b", published=True)
    pending = services.add_comment(reader, post, "waiting")
    assert post_counts(post) == (0, 0)  # pending comments are not counted
    services.add_comment(author, post, "the author's own: approved at once")
    assert post_counts(post) == (1, 0)
    services.approve_comment(moderator, pending)
    assert post_counts(post) == (2, 0)
    services.approve_comment(moderator, pending)  # approving twice counts once
    assert post_counts(post) == (2, 0)
    services.delete_comment(reader, pending)
    assert post_counts(post) == (1, 0)
    other = services.add_comment(reader, post, "another, pending")
    services.reject_comment(moderator, other.id)  # a pending one goes: nothing to uncount
    assert post_counts(post) == (1, 0)
    assert_counters_match_recount()


def test_favorites_count_once_per_reader(people: dict[str, Any]) -> None:
    author, reader = people["author"], people["reader"]
    post = services.create_post(author, title="Liked", body="b", published=True)
    services.favorite(reader, post)
    services.favorite(reader, post)  # again changes nothing
    services.favorite(author, post)
    assert post_counts(post) == (0, 2)
    services.unfavorite(reader, post)
    services.unfavorite(reader, post)  # not a favorite any more: nothing to uncount
    assert post_counts(post) == (0, 1)
    assert post.favorites_count == 1  # the loaded post shows it too (Conduit answers with it)
    assert_counters_match_recount()


def test_counters_leave_the_posts_updated_date_alone(people: dict[str, Any]) -> None:
    """A comment or a favorite is not an edit: the post's "updated" date (shown to readers and
    in feeds, and the version the editor saves over) stays; so does a full recount."""
    author, reader = people["author"], people["reader"]
    post = services.create_post(author, title="Kept", body="b", published=True)
    db.session.flush()

    def updated_at() -> object:
        return db.session.scalar(select(Post.updated_at).where(Post.id == post.id))

    before = updated_at()
    services.add_comment(author, post, "the author's own: approved at once")
    services.favorite(reader, post)
    services.unfavorite(reader, post)
    counts.recount()
    assert post_counts(post) == (1, 0)
    assert updated_at() == before


def test_publishing_retagging_and_deleting_move_the_post_counts(people: dict[str, Any]) -> None:
    author = people["author"]
    draft = services.create_post(author, title="Draft", body="b", tags=["one", "two"])
    assert (tag_count("one"), author.post_count, counts.published_total()) == (0, 0, 0)
    services.update_post(author, draft, published=True)
    db.session.refresh(author)
    assert (tag_count("one"), tag_count("two"), author.post_count) == (1, 1, 1)
    assert counts.published_total() == 1
    services.update_post(author, draft, tags=["two", "three"])
    assert (tag_count("one"), tag_count("two"), tag_count("three")) == (0, 1, 1)
    copies = db.session.execute(
        select(post_tags.c.published, post_tags.c.published_at).where(
            post_tags.c.post_id == draft.id
        )
    ).all()
    assert copies == [(True, draft.published_at)] * 2
    services.update_post(author, draft, published=False)
    db.session.refresh(author)
    assert (tag_count("two"), author.post_count, counts.published_total()) == (0, 0, 0)
    services.update_post(author, draft, published=True)
    services.delete_post(author, draft)
    db.session.refresh(author)
    assert (tag_count("two"), author.post_count, counts.published_total()) == (0, 0, 0)
    assert_counters_match_recount()


def test_deleting_a_post_takes_its_comments_and_favorites_along(people: dict[str, Any]) -> None:
    author, reader = people["author"], people["reader"]
    post = services.create_post(author, title="Gone", body="b", tags=["t"], published=True)
    other = services.create_post(author, title="Stays", body="b", tags=["t"], published=True)
    services.add_comment(author, post, "on the post that goes")
    services.add_comment(author, other, "on the post that stays")
    services.favorite(reader, post)
    services.favorite(reader, other)
    services.delete_post(author, post)
    assert post_counts(other) == (1, 1)
    assert tag_count("t") == 1
    assert_counters_match_recount()


def test_deleting_an_account_uncounts_what_it_wrote_everywhere(
    people: dict[str, Any], make: Make
) -> None:
    author, reader, admin = people["author"], people["reader"], people["admin"]
    set_comments_require_approval(admin, False)
    leaving = make.user(username="leaving")
    kept = services.create_post(author, title="Kept", body="b", tags=["shared"], published=True)
    own = services.create_post(leaving, title="Own", body="b", tags=["shared"], published=True)
    services.create_post(leaving, title="Own draft", body="b", tags=["shared"])
    services.add_comment(leaving, kept, "one")
    services.add_comment(leaving, kept, "two")
    services.add_comment(reader, own, "on a post that goes with its author")
    services.favorite(leaving, kept)
    services.favorite(reader, own)
    assert post_counts(kept) == (2, 1)
    assert (tag_count("shared"), counts.published_total()) == (2, 2)
    accounts.delete_user(admin, db.session.merge(leaving))
    assert post_counts(kept) == (0, 0)
    assert (tag_count("shared"), counts.published_total()) == (1, 1)
    assert_counters_match_recount()


def test_follows_count_on_both_sides_and_leave_with_the_account(
    people: dict[str, Any], make: Make
) -> None:
    author, reader, admin = people["author"], people["reader"], people["admin"]
    leaving = make.user(username="leaving")
    accounts.follow(reader, author)
    accounts.follow(reader, author)  # again changes nothing
    accounts.follow(leaving, author)
    accounts.follow(author, leaving)
    assert (accounts.follower_count(author), accounts.following_count(reader)) == (2, 1)
    accounts.unfollow(reader, author)
    accounts.unfollow(reader, author)  # not following any more: nothing to uncount
    assert (accounts.follower_count(author), accounts.following_count(reader)) == (1, 0)
    accounts.delete_user(admin, db.session.merge(leaving))
    db.session.refresh(author)
    assert (author.followers_count, author.following_count) == (0, 0)
    assert_counters_match_recount()


def test_the_migration_fills_the_counters_the_services_keep(people: dict[str, Any]) -> None:
    """A recount (what the migration does) on rows the services wrote changes nothing."""
    author, reader = people["author"], people["reader"]
    for n in range(3):
        post = services.create_post(
            author, title=f"Post {n}", body="b", tags=["a", f"t{n}"], published=n != 1
        )
        if post.published:
            services.add_comment(author, post, "hello")
            services.favorite(reader, post)
    assert_counters_match_recount()
