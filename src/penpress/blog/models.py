"""Posts, tags, comments, favorites and static pages."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    false,
    func,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from penpress.accounts.models import User
from penpress.database import Base, UTCDateTime, created_at, int_pk, utcnow
from penpress.media.models import Media

post_tags = Table(
    "post_tags",
    Base.metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    # Copies of the post's own columns, kept by the services (``services.posts``), so a tag's
    # page reads only that tag's newest rows, in index order, however many posts there are.
    Column("published", Boolean, nullable=False, default=False, server_default=false()),
    Column("published_at", UTCDateTime),
    Index("ix_post_tags_tag_id_published_published_at_post_id", "tag_id", "published",
          "published_at", "post_id"),
)  # fmt: skip


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int_pk]
    name: Mapped[str] = mapped_column(String(64), unique=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    # Published posts with this tag, kept by the services in the transaction that changes it.
    post_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    def __repr__(self) -> str:
        return f"<Tag {self.name}>"


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int_pk]
    body: Mapped[str] = mapped_column(Text)
    approved: Mapped[bool] = mapped_column(Boolean, default=False)
    # Marked as spam by a moderator: kept (to restore or delete for good) but shown only in the
    # console. A spam comment is never approved, so whatever counts or shows approved comments
    # leaves it out by itself.
    spam: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))

    author: Mapped[User] = relationship(lazy="raise_on_sql")
    post: Mapped[Post] = relationship(lazy="raise_on_sql")

    __table_args__ = (
        # A post's comments, oldest first, a page at a time (keyset on created_at, id).
        Index(
            "ix_comments_post_id_approved_created_at_id",
            "post_id",
            "approved",
            "created_at",
            "id",
        ),
        Index("ix_comments_approved_created_at", "approved", "created_at"),
        # The console's waiting and spam lists (spam is never approved): their pages and
        # counts from the index, not from every comment.
        Index("ix_comments_approved_spam_created_at", "approved", "spam", "created_at"),
    )


class Favorite(Base):
    """``user`` marked ``post`` as a favorite."""

    __tablename__ = "favorites"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[created_at]


class PostStatus(enum.StrEnum):
    """Where a post is on its way to readers.

    ``published`` is the only status readers see, and ``Post.published`` stays the flag that
    says so (list queries and their indexes use it): the services keep
    ``post.published == (post.status == PUBLISHED)``.
    """

    DRAFT = "draft"  # being written; only its writer (and editors) see it
    SUBMITTED = "submitted"  # waiting in the review queue for an editor
    RETURNED = "returned"  # sent back by an editor with a note; the writer edits and resubmits
    REJECTED = "rejected"  # refused by an editor (with a note); it cannot be submitted again
    PUBLISHED = "published"  # visible to readers


class Post(Base):
    __tablename__ = "posts"

    id: Mapped[int_pk]
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(220), unique=True)
    summary: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text)
    # Rendered and sanitized once on save; pages never render Markdown.
    body_html: Mapped[str] = mapped_column(Text)
    # Readers see a post when it is published and its publication time has come
    # (:meth:`visible_at`): ``published`` with a future ``published_at`` is a scheduled post,
    # with a past one a live (possibly backdated) post. Nothing has to run at that moment.
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the post went live: the save that made it visible, or the went-live step
    # (``services.posts.mark_due_posts_live``) once its time came, marked it, counted it and
    # queued its "went live" job. Unpublishing keeps it (published again: counted again, not
    # announced again); moved back into the future clears it (it goes live again then).
    went_live_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # See PostStatus; ``published`` above mirrors ``status == "published"``.
    status: Mapped[str] = mapped_column(
        String(16), default=PostStatus.DRAFT.value, server_default=PostStatus.DRAFT.value
    )
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The editor's last word to the writer (sent back or rejected), shown on the writer's pages.
    review_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )
    views: Mapped[int] = mapped_column(Integer, default=0)
    # Approved comments and favorites, kept by the services in the transaction that changes
    # them (``services.counts``), so lists never count rows.
    comment_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    favorites_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The post's tag names, space-separated: a copy for the full-text index (which covers
    # this row's columns only), kept by the services (``blog.search.tag_text``).
    search_tags: Mapped[str] = mapped_column(Text, default="", server_default="")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The picture shown with the post in lists, on its page and when it is shared: an upload,
    # or (from the API) the address of an image elsewhere; its alt text either way.
    featured_image_id: Mapped[int | None] = mapped_column(
        ForeignKey("media.id", ondelete="SET NULL"), index=True
    )
    featured_image_url: Mapped[str | None] = mapped_column(String(1000))
    # Defaults in the database only (bulk loaders insert without naming these columns).
    featured_image_alt: Mapped[str] = mapped_column(String(300), server_default="")
    # For search engines and shared links; the title and summary when empty.
    meta_title: Mapped[str] = mapped_column(String(200), server_default="")
    meta_description: Mapped[str] = mapped_column(String(300), server_default="")

    author: Mapped[User] = relationship(lazy="raise_on_sql")
    featured_image: Mapped[Media | None] = relationship(lazy="raise_on_sql")
    # Sorted by name, ignoring case, so every front door lists tags the same way (Conduit
    # requires it); ``services.tags.resolve_tags`` sorts a new list with the same key.
    tags: Mapped[list[Tag]] = relationship(
        secondary=post_tags, order_by=(func.lower(Tag.name), Tag.name), lazy="raise_on_sql"
    )

    __table_args__ = (
        # Lists sort published posts by (published_at, id), newest first: these serve that
        # order (read backwards) for all posts and for one author's, so a page reads only
        # the rows it shows.
        Index("ix_posts_published_published_at_id", "published", "published_at", "id"),
        Index(
            "ix_posts_author_id_published_published_at_id",
            "author_id",
            "published",
            "published_at",
            "id",
        ),
        Index("ix_posts_status_submitted_at", "status", "submitted_at"),
        # The console lists every post, drafts included, newest written first: all of them,
        # one author's, or those of one status (drafts, say).
        Index("ix_posts_created_at_id", "created_at", "id"),
        Index("ix_posts_author_id_created_at_id", "author_id", "created_at", "id"),
        Index("ix_posts_status_created_at_id", "status", "created_at", "id"),
        # The went-live step's search: posts not marked yet whose time has come.
        Index("ix_posts_went_live_at_published_at", "went_live_at", "published_at"),
    )

    @property
    def state(self) -> PostStatus:
        """The post's status, read so that ``published`` (the readers' flag) always wins: a
        scheduled post is ``published`` with a ``published_at`` still to come."""
        return PostStatus.PUBLISHED if self.published else PostStatus(self.status)

    @property
    def counted(self) -> bool:
        """The counters (author's, tags', the published total) include this post: it is
        published and has gone live (see ``went_live_at``)."""
        return self.published and self.went_live_at is not None

    @classmethod
    def visible_at(cls, now: datetime) -> ColumnElement[bool]:
        """SQL: readers see the post at ``now`` (published, and its time has come)."""
        return and_(cls.published.is_(True), cls.published_at <= now)

    def is_visible_at(self, now: datetime) -> bool:
        """Readers see this post at ``now``: the Python twin of :meth:`visible_at`."""
        return self.published and self.published_at is not None and self.published_at <= now

    @property
    def is_live(self) -> bool:
        """Readers see this post now."""
        return self.is_visible_at(utcnow())

    @property
    def is_scheduled(self) -> bool:
        """Published for a time still to come: readers see it from ``published_at``."""
        return self.published and not self.is_live

    @hybrid_property
    def shown_at(self) -> datetime:
        """The date readers see and lists sort by: when it was published, else written."""
        return self.published_at or self.created_at

    @shown_at.inplace.expression
    @classmethod
    def _shown_at_expression(cls) -> ColumnElement[datetime]:
        return func.coalesce(cls.published_at, cls.created_at)

    def __repr__(self) -> str:
        return f"<Post {self.slug}>"


class Page(Base):
    """A static page (About, Contact ...) at ``/<slug>``, written in Markdown by those who
    manage pages; optionally linked from the site's header navigation, in ``nav_order``.

    A table of its own rather than a kind of post: pages have no author, tags, comments,
    favorites, views or feeds, are never listed by date, and live at the site's top level.
    """

    __tablename__ = "pages"

    id: Mapped[int_pk]
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # Rendered and sanitized once on save, like a post's.
    body_html: Mapped[str] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    # Linked from the header navigation (when published), lowest ``nav_order`` first.
    show_in_nav: Mapped[bool] = mapped_column(Boolean, default=False)
    nav_order: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )

    def __repr__(self) -> str:
        return f"<Page {self.slug}>"


class PostViewDay(Base):
    """A post's views on one day (UTC), added by the views flush beside ``Post.views``, so
    the dashboard can rank posts by their views of the last days without a row per view."""

    __tablename__ = "post_view_days"

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    views: Mapped[int] = mapped_column(Integer, default=0)

    # The dashboard reads one range of days for every post.
    __table_args__ = (Index("ix_post_view_days_day", "day"),)
