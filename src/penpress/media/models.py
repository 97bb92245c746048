"""The record of an uploaded image: whose it is, where its files are, and their sizes."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from penpress.accounts.models import User
from penpress.database import Base, created_at, int_pk

# What the stored files are called: a random name, the width of a resized copy, the format.
NAME_PATTERN = r"[0-9a-f]{32}(?:-[0-9]{1,5}w)?\.(?:jpg|png|webp|gif)"


def scaled_height(width: int, height: int, new_width: int) -> int:
    """The height of a ``width`` x ``height`` image resized to ``new_width`` wide."""
    return max(1, round(height * new_width / width))


class Media(Base):
    """An uploaded image. Its files: ``name`` (the whole image, cleaned) and one resized copy
    per width in ``widths`` (``<stem>-<width>w.<ext>``), all in the media storage."""

    __tablename__ = "media"

    id: Mapped[int_pk]
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Generated, never the uploader's file name (which could be "../../etc/passwd").
    name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    byte_size: Mapped[int] = mapped_column(Integer)
    # Widths of the resized copies, smallest first; only those narrower than the image.
    widths: Mapped[list[int]] = mapped_column(JSON, default=list)
    # What the uploader called the file, shown to them only (to pick it again).
    original_name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[created_at]

    owner: Mapped[User] = relationship(lazy="raise_on_sql")

    __table_args__ = (Index("ix_media_owner_id_created_at", "owner_id", "created_at"),)

    def version_name(self, width: int) -> str:
        """The stored name of the copy ``width`` pixels wide."""
        stem, _, extension = self.name.rpartition(".")
        return f"{stem}-{width}w.{extension}"

    def versions(self) -> list[tuple[str, int, int]]:
        """``(name, width, height)`` of every stored version, smallest first, the whole
        image last."""
        resized = [
            (self.version_name(width), width, scaled_height(self.width, self.height, width))
            for width in self.widths
        ]
        return [*resized, (self.name, self.width, self.height)]

    def file_names(self) -> list[str]:
        """Every file this image is stored as."""
        return [name for name, _, _ in self.versions()]

    def version_for(self, width: int) -> tuple[str, int, int]:
        """The smallest version at least ``width`` wide (else the whole image)."""
        return next(v for v in self.versions() if v[1] >= width or v[0] == self.name)

    def __repr__(self) -> str:
        return f"<Media {self.name}>"
