"""Favorites: readers marking posts they like."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import CursorResult, delete

from penpress import page_cache, unit_of_work
from penpress.accounts.models import User
from penpress.blog import counts
from penpress.blog.models import Favorite, Post
from penpress.blog.paging import Cursor, PostPage
from penpress.blog.services.posts import PostFilter, can_view, list_posts
from penpress.database import PairedIds
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
        page_cache.post_changed(post.slug)  # its count, for anonymous readers at once


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
        page_cache.post_changed(post.slug)


def favorited_ids(viewer: User | int | None, post_ids: Iterable[int]) -> set[int]:
    """Which of ``post_ids`` the viewer (a user, or the id of one whose token was checked
    without loading them) has favorited, in one query (none when anonymous)."""
    ids = set(post_ids)
    if viewer is None or not ids:
        return set()  # no query, and no connection taken for one
    with unit_of_work.request_reads() as connection:
        return _FAVORITED(connection, viewer if isinstance(viewer, int) else viewer.id, ids)


# Every page of posts an API caller reads runs it. (The services flush a new favorite at
# once, so request_reads sees it.)
_FAVORITED = PairedIds(Favorite.user_id, Favorite.post_id)


def list_favorites(
    viewer: User | None,
    page: int = 1,
    per_page: int = 10,
    *,
    cursor: str | Cursor | None = None,
    with_total: bool = False,
) -> PostPage:
    """The published posts ``viewer`` favorited, newest first, by page number or cursor like
    every list (signed-in readers only): the reader's own list, never shown to anyone else."""
    reader = require(viewer, Permission.COMMENT)
    return list_posts(
        reader,
        PostFilter(favorited_by=reader.username),
        page,
        per_page,
        cursor=cursor,
        with_total=with_total,
    )


def count_favorites(viewer: User | None) -> int:
    """How many posts ``viewer``'s favorites page lists: counted over the same listing, so
    the rules of what readers see (published, scheduled) stay in one place."""
    reader = require(viewer, Permission.COMMENT)
    listing = list_posts(reader, PostFilter(favorited_by=reader.username), 1, 1, with_total=True)
    return listing.total or 0
