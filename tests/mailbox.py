"""Reading the email a test sent: the links in its text, its HTML part."""

from __future__ import annotations

import re
from typing import Any

LINK = re.compile(r"https?://[^\s\"'<>]+")


def links_in(message: Any) -> list[str]:
    """The absolute links in a message's plain-text body."""
    return LINK.findall(message.body)


def html_of(message: Any) -> str:
    """The HTML alternative of a message."""
    for content, mimetype in message.alternatives:
        if mimetype == "text/html":
            return str(content)
    raise AssertionError("the message has no HTML part")
