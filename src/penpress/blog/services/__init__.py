"""Blog rules shared by the site, both APIs and background tasks.

Functions take the acting user first (``None`` for an anonymous visitor) and check what it may
do themselves, ``flush()`` but never commit, and raise the domain errors of
:mod:`penpress.errors`.
"""

from penpress.blog.services.comments import (
    add_comment,
    approve_comment,
    approve_comment_by_id,
    can_delete_comment,
    can_see_pending,
    can_view_comment,
    comment_to_notify,
    delete_comment,
    get_visible_comment,
    list_comments,
    pending_comments,
    reject_comment,
)
from penpress.blog.services.favorites import favorite, favorited_ids, unfavorite
from penpress.blog.services.posts import (
    PostFilter,
    can_view,
    create_post,
    delete_post,
    feed,
    feed_window,
    get_post,
    get_post_by_id,
    get_post_to_edit,
    list_posts,
    list_posts_window,
    may_edit,
    post_loader,
    published_authors,
    published_post_stamps,
    record_view,
    require_publisher,
    require_writer,
    update_post,
)
from penpress.blog.services.review import (
    NOTE_MAX_LENGTH,
    publish_new_post,
    publish_submission,
    reject_submission,
    return_submission,
    review_queue,
    submit_post,
)
from penpress.blog.services.search import (
    MAX_PAGE as SEARCH_MAX_PAGE,
)
from penpress.blog.services.search import (
    QUERY_MAX_LENGTH as SEARCH_QUERY_MAX_LENGTH,
)
from penpress.blog.services.search import (
    SearchHit,
    SearchResults,
    search_posts,
)
from penpress.blog.services.tags import (
    delete_tag,
    get_tag,
    manage_tags,
    parse_tag_names,
    rename_tag,
    tag_slug,
    tags_with_counts,
)

__all__ = [
    "NOTE_MAX_LENGTH",
    "SEARCH_MAX_PAGE",
    "SEARCH_QUERY_MAX_LENGTH",
    "PostFilter",
    "SearchHit",
    "SearchResults",
    "add_comment",
    "approve_comment",
    "approve_comment_by_id",
    "can_delete_comment",
    "can_see_pending",
    "can_view",
    "can_view_comment",
    "comment_to_notify",
    "create_post",
    "delete_comment",
    "delete_post",
    "delete_tag",
    "favorite",
    "favorited_ids",
    "feed",
    "feed_window",
    "get_post",
    "get_post_by_id",
    "get_post_to_edit",
    "get_tag",
    "get_visible_comment",
    "list_comments",
    "list_posts",
    "list_posts_window",
    "manage_tags",
    "may_edit",
    "parse_tag_names",
    "pending_comments",
    "post_loader",
    "publish_new_post",
    "publish_submission",
    "published_authors",
    "published_post_stamps",
    "record_view",
    "reject_comment",
    "reject_submission",
    "rename_tag",
    "require_publisher",
    "require_writer",
    "return_submission",
    "review_queue",
    "search_posts",
    "submit_post",
    "tag_slug",
    "tags_with_counts",
    "unfavorite",
    "update_post",
]
