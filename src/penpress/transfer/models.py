"""Addresses a post had on the platform it was imported from, kept so old links still work."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from penpress.database import Base


class LegacyPath(Base):
    """``path`` (as WordPress served it: ``/?p=123``, ``/2019/03/04/hello-world/``) answers
    with a permanent redirect to the post ``post_id``."""

    __tablename__ = "legacy_paths"

    path: Mapped[str] = mapped_column(String(500), primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)

    def __repr__(self) -> str:
        return f"<LegacyPath {self.path} -> {self.post_id}>"
