"""Pages of posts: keyset cursors ("older"/"newer" than a post) and page numbers with a depth.

Lists are sorted newest first by a key (``published_at``, or ``shown_at`` where drafts are
listed) and the id. A cursor names a position in that order — the key and id of a post, and
a direction — so the next page is "the ``n`` posts just older than this one": an index range
read that costs the same on page 1 and page 100,000, and never skips or repeats a post when
new ones are published in between. Page numbers still work, by offset, down to
:data:`MAX_OFFSET_ROWS` rows; deeper than that an offset would read (and throw away) more
rows the deeper it goes, so it is refused and the answer points at the cursor.

Cursors are opaque to clients: URL-safe base64 of ``o|n:<microseconds>:<id>``. Tampering
gains nothing (any position in a public list is public), so they are not signed.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from penpress.blog.models import Post
from penpress.errors import Invalid

# The deepest row a page number may start at: 1,000 pages of ten. Reading that far along an
# index costs about as much as rendering the page; deeper, the cursor keeps the cost flat.
MAX_OFFSET_ROWS = 10_000
CURSOR_MAX_LENGTH = 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Cursor:
    """A position in a list: the post with sort key ``at`` and ``id``, and which way to go."""

    at: datetime
    id: int
    newer: bool = False  # False: the posts older than this one; True: the newer ones

    def encode(self) -> str:
        micros = (self.at - _EPOCH) // timedelta(microseconds=1)
        raw = f"{'n' if self.newer else 'o'}:{micros}:{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, field: str = "cursor") -> Cursor:
        """Parse a cursor from a client; 4xx (``Invalid``) for anything not made by us."""
        try:
            if len(text) > CURSOR_MAX_LENGTH:
                raise ValueError("too long")
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
            direction, micros, post_id = raw.split(":")
            if direction not in ("o", "n"):
                raise ValueError("direction")
            at = _EPOCH + timedelta(microseconds=int(micros))
            number = int(post_id)
            if not 0 <= number < 2**63:
                raise ValueError("id")
        except (ValueError, OverflowError, binascii.Error, UnicodeError):
            raise Invalid.field(field, "This is not a cursor from a previous page.") from None
        return cls(at=at, id=number, newer=direction == "n")

    @classmethod
    def of(cls, post: Post, *, by_shown_at: bool = False, newer: bool = False) -> Cursor:
        """The position of ``post`` in a list sorted by ``published_at`` (or ``shown_at``)."""
        at = post.shown_at if by_shown_at or post.published_at is None else post.published_at
        return cls(at=at, id=post.id, newer=newer)


@dataclass
class PostPage:
    """One page of a list: its posts and how to reach its neighbours.

    ``older``/``newer`` are cursors to the next and previous pages (``None`` at either end).
    ``page`` is the page number when asked by number (``None`` when asked by cursor);
    ``total`` is filled only when the caller asked for it (it costs a counter read or, for
    searches, a count). ``too_deep`` marks a page number beyond :data:`MAX_OFFSET_ROWS`
    (answered without reading anything).
    """

    items: Sequence[Post]
    per_page: int
    older: Cursor | None = None
    newer: Cursor | None = None
    page: int | None = None
    total: int | None = None
    too_deep: bool = False

    @property
    def has_next(self) -> bool:
        return self.older is not None

    @property
    def has_prev(self) -> bool:
        return self.newer is not None

    @property
    def pages(self) -> int:
        return math.ceil((self.total or 0) / self.per_page) if self.per_page else 0


def offset_of(page: int, per_page: int) -> int | None:
    """The row a page number starts at, or ``None`` when it is deeper than allowed."""
    offset = (max(page, 1) - 1) * per_page
    return offset if offset <= MAX_OFFSET_ROWS else None
