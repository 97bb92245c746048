"""Favorites: readers marking posts they like."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import CursorResult, delete, select

from penpress.accounts.models import User
from penpress.blog import counts
from penpress.blog.models import Favorite, Post
from penpress.blog.services.posts import can_view
from penpress.errors import NotFound
from penpress.extensions import db
from penpress.permissions import Permission, require


def favorite(actor: User | None, post: Post) -> None:
    """Mark a post the actor can see as a favorite (again changes nothing)."""
    reader = require(actor, Permission.COMMENT)
    if not can_view(reader, post):
        raise NotFound("No such post.")
    if not favorited_ids(reader, [post.id]):
        db.session.add(Favorite(user_id=reader.id, post_id=post.id))
        db.session.flush()
        counts.favorites_changed(post.id, 1)
        db.session.expire(post, ["favorites_count"])


def unfavorite(actor: User | None, post: Post) -> None:
    """Remove a post from the actor's favorites (not a favorite is fine)."""
    reader = require(actor, Permission.COMMENT)
    result: CursorResult[Any] = db.session.execute(  # type: ignore[assignment]
        delete(Favorite).where(Favorite.user_id == reader.id, Favorite.post_id == post.id)
    )
    removed = result.rowcount
    if removed:
        counts.favorites_changed(post.id, -removed)
        db.session.expire(post, ["favorites_count"])


def favorited_ids(viewer: User | None, post_ids: Iterable[int]) -> set[int]:
    """Which of ``post_ids`` the viewer has favorited, in one query (none when anonymous)."""
    ids = set(post_ids)
    if viewer is None or not ids:
        return set()
    stmt = select(Favorite.post_id).where(Favorite.user_id == viewer.id, Favorite.post_id.in_(ids))
    return set(db.session.scalars(stmt))
