"""What the owner's console does beyond one object at a time: lists of posts and comments
with the filters editors and moderators need, bulk actions, and deleting an account with its
posts handed to another author.

Bulk actions go through the single-object services (:mod:`.posts`, :mod:`.comments`), so each
post or comment is checked, counted, cached and written to the audit log as if done alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, false, func, or_, select, update
from sqlalchemy.orm import joinedload, selectinload

from penpress import database, page_cache
from penpress.accounts import services as accounts
from penpress.accounts.models import User
from penpress.blog import counts
from penpress.blog.models import Comment, Post, PostStatus, Tag, post_tags
from penpress.blog.services.comments import approve_comment as approve_one
from penpress.blog.services.comments import delete_comment, mark_spam, not_spam
from penpress.blog.services.posts import delete_post, post_loader, update_post
from penpress.database import paginate_capped, utcnow
from penpress.errors import Invalid, NotFound
from penpress.extensions import db
from penpress.permissions import Permission, holds, require

# The console's post statuses: a published post is "scheduled" while its publication time is
# still to come, then "published" (whatever its status column says).
POST_STATUSES = ("draft", "scheduled", "submitted", "returned", "rejected", "published")
POST_ACTIONS = ("publish", "unpublish", "delete")
# The console's comment lists: waiting for a moderator, approved, marked as spam.
COMMENT_STATES = ("waiting", "approved", "spam")
# "approve" also restores spam as approved; "not_spam" sends spam back to the waiting list.
COMMENT_ACTIONS = ("approve", "delete", "spam", "not_spam")
BULK_MAX = 100  # ids in one bulk action (a page of the console at most)


@dataclass(frozen=True)
class ConsolePostFilter:
    status: str | None = None  # one of POST_STATUSES
    author: str | None = None  # username
    tag: str | None = None  # tag slug


def console_posts(
    actor: User | None, filters: ConsolePostFilter, page: int = 1, per_page: int = 25
) -> Pagination:
    """Every post, drafts included, newest first, filtered by status, author and tag
    (editors). Authors and tags load with the page: three queries whatever its size."""
    require(actor, Permission.EDIT_ANY_POST)
    stmt: Select[Post] = select(Post).options(
        joinedload(Post.author, innerjoin=True), selectinload(Post.tags)
    )
    if filters.status:
        if filters.status not in POST_STATUSES:
            raise Invalid.field("status", f"Choose one of: {', '.join(POST_STATUSES)}.")
        now = utcnow()
        if filters.status == PostStatus.PUBLISHED.value:
            stmt = stmt.where(
                # Nine posts in ten are published, so the newest-first index, skipping the
                # others, finds a page soonest; wrapped, the flag offers SQLite no index of its
                # own, which it would otherwise pick and then sort every published post by
                # (2.4 s at 1,000,000 posts, 0.4 ms this way).
                func.coalesce(Post.published, False).is_(True),
                or_(Post.published_at.is_(None), Post.published_at <= now),
            )
        elif filters.status == "scheduled":
            stmt = stmt.where(Post.published.is_(True), Post.published_at > now)
        else:
            # The status alone decides (the services keep ``published`` in step with it): its
            # index then serves the filter.
            stmt = stmt.where(Post.status == filters.status)
    if filters.author:
        stmt = stmt.join(User, User.id == Post.author_id).where(
            User.username == filters.author.strip()
        )
    count_stmt = None
    if filters.tag:
        rows = min(max(page, 1) * per_page, database.CONSOLE_COUNT_LIMIT)
        stmt, count_stmt = _with_tag(stmt, filters.tag.strip(), rows)
    newest_first = stmt.order_by(Post.created_at.desc(), Post.id.desc())
    return paginate_capped(newest_first, page, per_page, count_stmt=count_stmt)


# Reading one of a tag's rows (and sorting it) costs about as much as this many lookups of
# whether a post has the tag, as measured on SQLite at 1,000,000 posts.
TAG_ROW_COST = 8


def _with_tag(stmt: Select[Post], slug: str, rows: int) -> tuple[Select[Post], Select[Post]]:
    """``stmt`` narrowed to the posts tagged ``slug``, to read the first ``rows`` of the list
    with, and to count it with: each in the cheaper of two forms.

    - Walking the posts newest first and looking each one's tag up stops after about
      ``rows * posts / post_count`` lookups (``post_count``: the tag's published posts).
    - Reading the tag's own rows costs ``post_count`` however few are wanted, as every post
      with the tag is then sorted: 1 s for a tag on a third of a million posts.

    So a common tag's pages and count (up to the count's limit) walk, and a rare tag's read
    its rows, as do deep pages of a tag between the two.
    """
    tag = db.session.execute(select(Tag.id, Tag.post_count).where(Tag.slug == slug)).first()
    if tag is None:
        nothing = stmt.where(false())
        return nothing, nothing
    newest_id = db.session.scalar(select(func.max(Post.id))) or 0
    has_tag = (
        select(post_tags.c.post_id)
        .where(post_tags.c.post_id == Post.id, post_tags.c.tag_id == tag.id)
        .exists()
    )
    in_tag = Post.id.in_(select(post_tags.c.post_id).where(post_tags.c.tag_id == tag.id))

    def cheaper(wanted: int) -> Select[Post]:
        walk = wanted * newest_id / max(tag.post_count, 1)
        return stmt.where(has_tag if walk < tag.post_count * TAG_ROW_COST else in_tag)

    return cheaper(rows), cheaper(database.CONSOLE_COUNT_LIMIT)


def _ids(ids: Iterable[int]) -> list[int]:
    unique = sorted(set(ids))
    if not unique:
        raise Invalid.field("ids", "Choose at least one.")
    if len(unique) > BULK_MAX:
        raise Invalid.field("ids", f"Choose at most {BULK_MAX} at once.")
    return unique


def bulk_posts(actor: User | None, action: str, ids: Iterable[int]) -> int:
    """Publish, unpublish or delete several posts at once (editors); how many changed. Each
    post goes through the single-post service (its checks, counters, cache, audit entry);
    posts deleted meanwhile are skipped."""
    editor = require(actor, Permission.EDIT_ANY_POST)
    if action not in POST_ACTIONS:
        raise Invalid.field("action", f"Choose one of: {', '.join(POST_ACTIONS)}.")
    chosen = _ids(ids)
    found = db.session.scalars(select(Post).where(Post.id.in_(chosen)).options(*post_loader()))
    changed = 0
    for post in found:
        if action == "delete":
            delete_post(editor, post)
        elif post.published != (action == "publish"):
            update_post(editor, post, published=action == "publish")
        else:
            continue
        changed += 1
    return changed


def console_comments(
    actor: User | None,
    *,
    state: str,
    post_id: int | None = None,
    q: str | None = None,
    page: int = 1,
    per_page: int = 25,
) -> Pagination:
    """Comments waiting (oldest first), approved or marked as spam (newest first), for one
    post or all, with words of their text (moderators)."""
    require(actor, Permission.MODERATE)
    if state not in COMMENT_STATES:
        raise Invalid.field("state", f"Choose one of: {', '.join(COMMENT_STATES)}.")
    stmt = select(Comment).options(selectinload(Comment.author), selectinload(Comment.post))
    if state == "spam":
        # Written as the index's columns (spam is never approved): a scan of every comment
        # otherwise (192 ms at 3,000,000 comments on SQLite).
        stmt = stmt.where(Comment.approved.is_(False), Comment.spam.is_(True))
    elif state == "approved":
        # A spam comment is never approved (marking one unapproves it); the spam flag is
        # written anyway so that the (approved, spam, created_at) index serves the order too:
        # without it SQLite sorted every approved comment (2.2 s at 3,000,000 comments).
        stmt = stmt.where(Comment.approved.is_(True), Comment.spam.is_(False))
    else:
        stmt = stmt.where(Comment.approved.is_(False), Comment.spam.is_(False))
    if post_id is not None:
        stmt = stmt.where(Comment.post_id == post_id)
    if q and q.strip():
        stmt = stmt.where(Comment.body.icontains(q.strip(), autoescape=True))
    if state == "waiting":
        stmt = stmt.order_by(Comment.created_at, Comment.id)
    else:
        stmt = stmt.order_by(Comment.created_at.desc(), Comment.id.desc())
    return paginate_capped(stmt, page, per_page)


def bulk_comments(actor: User | None, action: str, ids: Iterable[int]) -> int:
    """Approve, delete, mark as spam or restore from spam (to the waiting list) several
    comments at once (moderators); how many changed. Approving a spam comment restores it as
    approved; deleting one deletes it for good."""
    moderator = require(actor, Permission.MODERATE)
    if action not in COMMENT_ACTIONS:
        raise Invalid.field("action", f"Choose one of: {', '.join(COMMENT_ACTIONS)}.")
    chosen = _ids(ids)
    found: Sequence[Comment] = db.session.scalars(
        select(Comment).where(Comment.id.in_(chosen)).order_by(Comment.id)
    ).all()
    changed = 0
    for comment in found:
        if action == "delete":
            delete_comment(moderator, comment)
        elif action == "approve" and not comment.approved:
            approve_one(moderator, comment)
        elif action == "spam" and not comment.spam:
            mark_spam(moderator, comment)
        elif action == "not_spam" and comment.spam:
            not_spam(moderator, comment, approve=False)
        else:
            continue
        changed += 1
    return changed


def delete_account(actor: User | None, user: User, *, reassign_to: str | None = None) -> None:
    """Delete an account (administrators): its posts go to the author ``reassign_to``
    (a username) or, without one, are deleted with it. The rules of
    :func:`accounts.delete_user` hold (not oneself, never the last administrator)."""
    admin = require(actor, Permission.ADMIN)
    heir: User | None = None
    if reassign_to:
        heir = db.session.scalar(select(User).where(User.username == reassign_to.strip()))
        if heir is None or not heir.active:
            raise NotFound("No active account has that username.")
        if heir.id == user.id:
            raise Invalid.field("reassign_to", "Choose someone other than the account deleted.")
        if not holds(heir, Permission.WRITE):
            raise Invalid.field("reassign_to", f"{heir.username} may not write posts.")
        published = db.session.scalar(
            select(func.count()).where(Post.author_id == user.id, Post.published.is_(True))
        )
        db.session.execute(
            update(Post).where(Post.author_id == user.id).values(author_id=heir.id),
            execution_options={"synchronize_session": False},
        )
        counts.post_counted(heir.id, int(published or 0))
        counts.post_counted(user.id, -int(published or 0))
        page_cache.site_changed()
    accounts.delete_user(
        admin, user, posts_reassigned_to=heir.username if heir is not None else None
    )
