"""Which links leave the site, and the ``rel`` they get: in posts and in comments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser
from urllib.parse import SplitResult, urlsplit

from linkify_it import LinkifyIt
from markupsafe import Markup

EXTERNAL_REL = "nofollow"
COMMENT_REL = "nofollow ugc"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class SiteHost:
    """The site's own host and port (``None`` for the scheme's default port)."""

    hostname: str
    port: int | None

    @classmethod
    def from_url(cls, url: str | None) -> SiteHost | None:
        """The host of ``SITE_URL``; ``None`` when it is unset or has no host."""
        if not url:
            return None
        try:
            parts = urlsplit(url)
            hostname = parts.hostname
            port = _port(parts)
        except ValueError:
            return None
        return cls(hostname, port) if hostname else None


def _port(parts: SplitResult) -> int | None:
    port = parts.port  # raises ValueError for a port that is not a number or out of range
    return None if port == _DEFAULT_PORTS.get(parts.scheme) else port


def is_internal(href: str, site: SiteHost | None) -> bool:
    """Whether following ``href`` stays on the site.

    Relative URLs and fragments stay; absolute ones only when their host is the site's. Any
    doubt counts as leaving: a backslash, whitespace or control character (browsers read
    ``/\\evil.example`` and `` //evil.example`` as other hosts), a URL Python cannot split,
    or a scheme other than http(s) (``mailto:``).
    """
    if any(char == "\\" or char <= " " or char == "\x7f" for char in href):
        return False
    try:
        parts = urlsplit(href)
        port = _port(parts)
    except ValueError:
        return False
    if not parts.scheme and not parts.netloc and not href.startswith("//"):
        return True
    if parts.scheme not in ("", "http", "https") or site is None:
        return False
    return parts.hostname == site.hostname and port == site.port


Attrs = list[tuple[str, str | None]]
# Gets a start tag's name and attributes; returns new attributes, or None to keep it as it was.
Rewrite = Callable[[str, Attrs], Attrs | None]


class _TagRewriter(HTMLParser):
    """Copies sanitized HTML token by token, rebuilding only the start tags ``rewrite``
    changes (from their parsed attributes, escaped again); every other token is written back
    exactly as it was read, so the sanitizer's output is kept."""

    def __init__(self, rewrite: Rewrite) -> None:
        super().__init__(convert_charrefs=False)
        self.rewrite = rewrite
        self.out: list[str] = []

    def handle_starttag(self, tag: str, attrs: Attrs) -> None:
        changed = self.rewrite(tag, attrs)
        if changed is None:
            self.out.append(self.get_starttag_text() or "")
            return
        rendered = "".join(
            f" {name}" if value is None else f' {name}="{escape(value)}"' for name, value in changed
        )
        self.out.append(f"<{tag}{rendered}>")

    def handle_startendtag(self, tag: str, attrs: Attrs) -> None:
        self.out.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.out.append(data)

    def handle_entityref(self, name: str) -> None:
        self.out.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.out.append(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        self.out.append(f"<!--{data}-->")


def rewrite_start_tags(html: str, rewrite: Rewrite) -> str:
    """``html`` (already sanitized) with the start tags ``rewrite`` returns attributes for
    rebuilt with those attributes."""
    writer = _TagRewriter(rewrite)
    writer.feed(html)
    writer.close()
    return "".join(writer.out)


def add_external_rel(html: str, site: SiteHost | None) -> str:
    """``html`` (already sanitized) with ``rel="nofollow"`` on every link that leaves the site."""

    def rel(tag: str, attrs: Attrs) -> Attrs | None:
        if tag != "a":
            return None
        kept = [(name, value) for name, value in attrs if name != "rel"]
        href = dict(kept).get("href")
        if href is not None and not is_internal(href, site):
            kept.append(("rel", EXTERNAL_REL))
        return kept

    return rewrite_start_tags(html, rel)


# Comments link only what starts with http:// or https://: no "example.com" guesses, no
# e-mail addresses, no protocol-relative "//host" links.
_comment_links = LinkifyIt(options={"fuzzy_link": False, "fuzzy_email": False, "fuzzy_ip": False})


def linkify_comment(text: str) -> Markup:
    """A comment as HTML: all of it escaped, its http(s) URLs made into ``nofollow ugc`` links."""
    parts: list[str] = []
    last = 0
    for match in _comment_links.match(text) or []:
        url: str = match.url
        if match.schema.lower() not in ("http:", "https:") or not url.lower().startswith(
            ("http://", "https://")
        ):
            continue
        parts.append(escape(text[last : match.index]))
        parts.append(f'<a href="{escape(url)}" rel="{COMMENT_REL}">{escape(match.text)}</a>')
        last = match.last_index
    parts.append(escape(text[last:]))
    return Markup("".join(parts))  # noqa: S704  (every piece of user text is escaped above)
