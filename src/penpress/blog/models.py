"""Posts, tags, comments and favorites."""

from __future__ import annotations

import enum
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

    # Assigned, not only annotated: the count subqueries below refer to this column.
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(220), unique=True)
    summary: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text)
    # Rendered and sanitized once on save; pages never render Markdown.
    body_html: Mapped[str] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
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
        Index("ix_posts_status_submitted_at", "status", "submitted_at"),
    )

    @property
    def state(self) -> PostStatus:
        """The post's status, read so that ``published`` (the readers' flag) always wins."""
        return PostStatus.PUBLISHED if self.published else PostStatus(self.status)

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
