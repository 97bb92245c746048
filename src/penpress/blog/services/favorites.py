"""Favorites: users marking posts they like."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select

from penpress.accounts.models import User
from penpress.blog.models import Favorite, Post
from penpress.blog.services.posts import can_view
from penpress.errors import NotFound
from penpress.extensions import db


def favorite(post: Post, user: User) -> None:
    if not can_view(post, user):
        raise NotFound("No such post.")
    if not favorited_ids(user, [post.id]):
        db.session.add(Favorite(user_id=user.id, post_id=post.id))
        db.session.flush()
    db.session.expire(post, ["favorites_count"])


def unfavorite(post: Post, user: User) -> None:
    db.session.execute(
        delete(Favorite).where(Favorite.user_id == user.id, Favorite.post_id == post.id)
    )
    db.session.expire(post, ["favorites_count"])


def favorited_ids(user: User | None, post_ids: Iterable[int]) -> set[int]:
    """Which of ``post_ids`` the user has favorited, in one query."""
    ids = set(post_ids)
    if user is None or not user.is_authenticated or not ids:
        return set()
    stmt = select(Favorite.post_id).where(Favorite.user_id == user.id, Favorite.post_id.in_(ids))
    return set(db.session.scalars(stmt))
