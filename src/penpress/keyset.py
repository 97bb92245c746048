"""Keyset paging: a position in a list sorted by (a timestamp, an id), as an opaque cursor.

A page ends at its last row; the next page is "the rows after this position", which an index
on (key, id) reads as one range however deep the list goes, and which never repeats or skips
a row when rows are added meanwhile. Lists sorted by id alone use a position without ``at``.

Cursors are URL-safe base64 of ``<microseconds or ->:<id>``; they are not signed, because a
position in a list one may read gives nothing away. Anything else a client sends as a cursor
is a 422 (``Invalid``), never a 500.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from penpress.errors import Invalid

CURSOR_MAX_LENGTH = 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NO_TIME = "-"
_MAX_ID = 2**63


@dataclass(frozen=True)
class Position:
    """The sort key (``at``, or ``None`` for lists sorted by id alone) and id of a row."""

    at: datetime | None
    id: int

    def encode(self) -> str:
        """The cursor a page links to."""
        stamp = (
            _NO_TIME if self.at is None else str((self.at - _EPOCH) // timedelta(microseconds=1))
        )
        return base64.urlsafe_b64encode(f"{stamp}:{self.id}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str | None, field: str = "after") -> Position | None:
        """The position a cursor names (``None`` for no cursor); ``Invalid`` for anything not
        made by :meth:`encode`."""
        if not text:
            return None
        try:
            if len(text) > CURSOR_MAX_LENGTH:
                raise ValueError("too long")
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
            stamp, number = raw.split(":")
            at = None if stamp == _NO_TIME else _EPOCH + timedelta(microseconds=int(stamp))
            row_id = int(number)
            if not 0 <= row_id < _MAX_ID:
                raise ValueError("id out of range")
        except (ValueError, OverflowError, binascii.Error, UnicodeError):
            raise Invalid.field(field, "This is not a link to a page of this list.") from None
        return cls(at=at, id=row_id)
