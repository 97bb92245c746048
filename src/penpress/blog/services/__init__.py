"""Blog rules shared by the site, both APIs and background tasks.

Functions take plain values and the acting user, ``flush()`` but never commit, and raise the
domain errors of :mod:`penpress.errors`.
"""

from penpress.blog.services.comments import (
    add_comment,
    approve_comment,
    can_delete_comment,
    can_see_pending,
    can_view_comment,
    delete_comment,
    get_comment,
    get_visible_comment,
    list_comments,
    pending_comments,
)
from penpress.blog.services.favorites import favorite, favorited_ids, unfavorite
from penpress.blog.services.posts import (
    PostFilter,
    can_edit,
    can_view,
    create_post,
    delete_post,
    feed,
    get_post,
    get_post_by_id,
    list_posts,
    list_posts_window,
    post_loader,
    published_authors,
    published_post_stamps,
    record_view,
    update_post,
)
from penpress.blog.services.tags import get_tag, parse_tag_names, tags_with_counts

__all__ = [
    "PostFilter",
    "add_comment",
    "approve_comment",
    "can_delete_comment",
    "can_edit",
    "can_see_pending",
    "can_view_comment",
    "can_view",
    "create_post",
    "delete_comment",
    "delete_post",
    "favorite",
    "favorited_ids",
    "feed",
    "get_comment",
    "get_post",
    "get_post_by_id",
    "get_tag",
    "get_visible_comment",
    "list_comments",
    "list_posts",
    "list_posts_window",
    "parse_tag_names",
    "pending_comments",
    "post_loader",
    "published_authors",
    "published_post_stamps",
    "record_view",
    "tags_with_counts",
    "unfavorite",
    "update_post",
]
