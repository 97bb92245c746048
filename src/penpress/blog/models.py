"""Posts, tags, comments, favorites and static pages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    func,
    select,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from penpress.accounts.models import User
from penpress.database import Base, UTCDateTime, created_at, int_pk, utcnow

post_tags = Table(
    "post_tags",
    Base.metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int_pk]
    name: Mapped[str] = mapped_column(String(64), unique=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)

    def __repr__(self) -> str:
        return f"<Tag {self.name}>"


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int_pk]
    body: Mapped[str] = mapped_column(Text)
    approved: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))

    author: Mapped[User] = relationship(lazy="raise_on_sql")
    post: Mapped[Post] = relationship(lazy="raise_on_sql")

    __table_args__ = (
        Index("ix_comments_post_id_approved_created_at", "post_id", "approved", "created_at"),
        Index("ix_comments_approved_created_at", "approved", "created_at"),
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


class Post(Base):
    __tablename__ = "posts"

    # Assigned, not only annotated: the count subqueries below refer to this column.
    id: Mapped[int] = mapped_column(primary_key=True)
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
    # When the went-live step (``services.posts.mark_due_posts_live``) first saw the post
    # visible and queued its "went live" job; set once, so that job runs once per post.
    went_live_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )
    views: Mapped[int] = mapped_column(Integer, default=0)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    author: Mapped[User] = relationship(lazy="raise_on_sql")
    # Sorted by name, ignoring case, so every front door lists tags the same way (Conduit
    # requires it); ``services.tags.resolve_tags`` sorts a new list with the same key.
    tags: Mapped[list[Tag]] = relationship(
        secondary=post_tags, order_by=(func.lower(Tag.name), Tag.name), lazy="raise_on_sql"
    )

    # Counts as correlated subqueries, deferred: list pages undefer them so that a page of
    # posts costs one query, whatever its size.
    comment_count: Mapped[int] = column_property(
        select(func.count(Comment.id))
        .where(Comment.post_id == id, Comment.approved.is_(True))
        .correlate_except(Comment)
        .scalar_subquery(),
        deferred=True,
    )
    favorites_count: Mapped[int] = column_property(
        select(func.count(Favorite.user_id))
        .where(Favorite.post_id == id)
        .correlate_except(Favorite)
        .scalar_subquery(),
        deferred=True,
    )

    __table_args__ = (
        Index("ix_posts_published_published_at", "published", "published_at"),
        Index("ix_posts_author_id_created_at", "author_id", "created_at"),
        # The went-live step's search: posts not marked yet whose time has come.
        Index("ix_posts_went_live_at_published_at", "went_live_at", "published_at"),
    )

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
