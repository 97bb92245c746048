"""The blog's counters and copies: kept by the services in the transaction of each change.

Lists never count rows and never sort a whole table: a post carries its approved comments and
favorites, a tag and an author their published posts, the ``posts.published`` named counter
all published posts, and ``post_tags`` a copy of each post's ``published``/``published_at``
(so a tag's page reads its newest rows straight from an index). Every change goes through the
functions here, called by the services; :func:`recount` rebuilds everything from the rows
(a trusted repair, and the proof in the tests that the upkeep is right).

"Published" here means gone live (``Post.counted``): a scheduled post joins the counts when
the went-live step marks it (:func:`posts_went_live`), not when it is saved.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.orm import InstrumentedAttribute

from penpress import counters
from penpress.accounts.models import Follow, User
from penpress.accounts.services import user_deleting
from penpress.blog.models import Comment, Favorite, Post, Tag, post_tags
from penpress.extensions import db

PUBLISHED_POSTS = "posts.published"  # named counter: every published post gone live


def _counted() -> ColumnElement[bool]:
    """SQL twin of ``Post.counted``: published and gone live."""
    return and_(Post.published.is_(True), Post.went_live_at.is_not(None))


def published_total() -> int:
    """How many posts are published, from the named counter (no count over posts)."""
    return counters.value(PUBLISHED_POSTS)


def tag_ids_of(post_id: int) -> list[int]:
    return list(
        db.session.scalars(select(post_tags.c.tag_id).where(post_tags.c.post_id == post_id))
    )


def post_counted(author_id: int, delta: int) -> None:
    """A post by ``author_id`` became published (+1) or stopped being published (-1)."""
    if not delta:
        return
    db.session.execute(
        update(User).where(User.id == author_id).values(post_count=User.post_count + delta),
        execution_options={"synchronize_session": False},
    )
    counters.add(PUBLISHED_POSTS, delta)


def posts_went_live(post_ids: Iterable[int]) -> None:
    """Scheduled posts just marked live by the went-live step: count them on their authors,
    their tags and the total (one statement per author and per tag, not per post)."""
    ids = list(post_ids)
    if not ids:
        return
    by_author = (
        select(Post.author_id, func.count().label("n"))
        .where(Post.id.in_(ids))
        .group_by(Post.author_id)
    )
    total = 0
    for author_id, n in db.session.execute(by_author).all():
        db.session.execute(
            update(User).where(User.id == author_id).values(post_count=User.post_count + n),
            execution_options={"synchronize_session": False},
        )
        total += int(n)
    counters.add(PUBLISHED_POSTS, total)
    by_tag = (
        select(post_tags.c.tag_id, func.count().label("n"))
        .where(post_tags.c.post_id.in_(ids))
        .group_by(post_tags.c.tag_id)
    )
    for tag_id, n in db.session.execute(by_tag).all():
        _tags_changed([tag_id], int(n))


def tags_counted(*, removed: Iterable[int], added: Iterable[int]) -> None:
    """Published posts left the ``removed`` tags and joined the ``added`` ones."""
    _tags_changed(removed, -1)
    _tags_changed(added, 1)


def _tags_changed(tag_ids: Iterable[int], delta: int) -> None:
    ids = list(set(tag_ids))
    if ids and delta:
        db.session.execute(
            update(Tag).where(Tag.id.in_(ids)).values(post_count=Tag.post_count + delta),
            execution_options={"synchronize_session": False},
        )


def copy_to_post_tags(post: Post) -> None:
    """Copy the post's ``published``/``published_at`` onto its ``post_tags`` rows (after the
    flush that wrote them)."""
    db.session.execute(
        update(post_tags)
        .where(post_tags.c.post_id == post.id)
        .values(published=post.published, published_at=post.published_at)
    )


def comments_changed(post_id: int, delta: int) -> None:
    """The post gained (+) or lost (-) approved comments."""
    _add_to_post(post_id, Post.comment_count, delta)


def favorites_changed(post_id: int, delta: int) -> None:
    """The post gained (+) or lost (-) favorites."""
    _add_to_post(post_id, Post.favorites_count, delta)


# A counter is not an edit: ``updated_at`` (the "updated" date readers and feeds see, and the
# version the editor saves over) keeps its value when one changes.
_KEEP_UPDATED_AT = {Post.updated_at: Post.updated_at}


def _add_to_post(post_id: int, column: InstrumentedAttribute[int], delta: int) -> None:
    if delta:
        db.session.execute(
            update(Post)
            .where(Post.id == post_id)
            .values({column: column + delta, **_KEEP_UPDATED_AT}),
            execution_options={"synchronize_session": False},
        )


def connect() -> None:
    """Listen for account deletions (once per process; ``create_app`` calls it)."""
    user_deleting.connect(_user_leaving, weak=False)


def _user_leaving(user: User, **_extra: object) -> None:
    user_leaving(user)


def user_leaving(user: User) -> None:
    """Before an account is deleted (its rows go by cascade): take its approved comments and
    favorites off the posts they count on, and its published posts off its tags and the
    total. Costs what the account wrote, not what the site holds."""
    approved_on = (
        select(Comment.post_id, func.count().label("n"))
        .where(Comment.author_id == user.id, Comment.approved.is_(True))
        .group_by(Comment.post_id)
    )
    for post_id, n in db.session.execute(approved_on):
        comments_changed(post_id, -int(n))
    db.session.execute(
        update(Post)
        .where(Post.id.in_(select(Favorite.post_id).where(Favorite.user_id == user.id)))
        .values({Post.favorites_count: Post.favorites_count - 1, **_KEEP_UPDATED_AT}),
        execution_options={"synchronize_session": False},
    )
    tag_uses = (
        select(post_tags.c.tag_id, func.count().label("n"))
        .join(Post, Post.id == post_tags.c.post_id)
        .where(Post.author_id == user.id, _counted())
        .group_by(post_tags.c.tag_id)
    )
    for tag_id, n in db.session.execute(tag_uses):
        _tags_changed([tag_id], -int(n))
    published = db.session.scalar(select(func.count()).where(Post.author_id == user.id, _counted()))
    counters.add(PUBLISHED_POSTS, -int(published or 0))


def recount() -> None:
    """Trusted (the bulk loader, tests, repairs): rebuild every counter and copy from the rows.

    Reads every post, comment and favorite: for repairs and checks, never for a request.
    Objects already loaded keep their old numbers until expired.
    """
    approved = (
        select(func.count())
        .where(Comment.post_id == Post.id, Comment.approved.is_(True))
        .scalar_subquery()
    )
    favorites = select(func.count()).where(Favorite.post_id == Post.id).scalar_subquery()
    db.session.execute(
        update(Post).values(
            {Post.comment_count: approved, Post.favorites_count: favorites, **_KEEP_UPDATED_AT}
        ),
        execution_options={"synchronize_session": False},
    )
    post = select(Post).where(Post.id == post_tags.c.post_id)
    db.session.execute(
        update(post_tags).values(
            published=post.with_only_columns(Post.published).scalar_subquery(),
            published_at=post.with_only_columns(Post.published_at).scalar_subquery(),
        )
    )
    tag_posts = (
        select(func.count())
        .select_from(post_tags)
        .join(Post, Post.id == post_tags.c.post_id)
        .where(post_tags.c.tag_id == Tag.id, _counted())
        .scalar_subquery()
    )
    db.session.execute(
        update(Tag).values(post_count=tag_posts), execution_options={"synchronize_session": False}
    )
    user_posts = select(func.count()).where(Post.author_id == User.id, _counted()).scalar_subquery()
    followers = select(func.count()).where(Follow.followed_id == User.id).scalar_subquery()
    following = select(func.count()).where(Follow.follower_id == User.id).scalar_subquery()
    db.session.execute(
        update(User).values(
            post_count=user_posts, followers_count=followers, following_count=following
        ),
        execution_options={"synchronize_session": False},
    )
    total = db.session.scalar(select(func.count()).where(_counted()))
    counters.set_value(PUBLISHED_POSTS, int(total or 0))


def snapshot() -> dict[str, object]:
    """Every counter as stored, to compare with a :func:`recount` (tests, checks)."""
    posts = {
        row.id: (row.comment_count, row.favorites_count)
        for row in db.session.execute(select(Post.id, Post.comment_count, Post.favorites_count))
    }
    tags = {row.id: (row.post_count,) for row in db.session.execute(select(Tag.id, Tag.post_count))}
    users = {
        row.id: (row.post_count, row.followers_count, row.following_count)
        for row in db.session.execute(
            select(User.id, User.post_count, User.followers_count, User.following_count)
        )
    }
    copies = {
        (row.post_id, row.tag_id): (bool(row.published), row.published_at)
        for row in db.session.execute(select(post_tags))
    }
    return {
        "posts": posts,
        "tags": tags,
        "users": users,
        "post_tags": copies,
        "published": published_total(),
    }
