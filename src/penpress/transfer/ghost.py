"""A Ghost JSON export (Ghost 1 to 5, from Settings → Labs → Export) read into Penpress records.

Posts and pages keep their slug, status (``scheduled`` is a published post whose time has not
come), dates, custom excerpt, tags (Ghost's internal ``#tags`` are left out) and featured
image; staff users become contributors without a password (claimed with a reset link). The
content is taken from whichever the file holds, best first: ``markdown`` (Ghost 0.x and 1.x),
a ``mobiledoc`` made of Markdown cards (Ghost 1 to 4 written in Markdown), ``html``, and
otherwise the ``lexical`` document (Ghost 5) turned into HTML; HTML is sanitized and made into
Markdown as WordPress content is.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slugify import slugify

from penpress.accounts.services import USERNAME_PATTERN
from penpress.database import utcnow
from penpress.transfer.content import html_to_markdown
from penpress.transfer.importer import Problem, RecordsSource, TransferError
from penpress.transfer.localmedia import LocalMedia

GHOST_MAJOR_VERSIONS = range(0, 7)  # the export formats this reads (Ghost 0.x to 6.x)
MAX_FILE = 512 * 1024 * 1024
_STATUSES = {"published": "published", "scheduled": "published", "draft": "draft"}


GHOST_URL = "__GHOST_URL__"  # how Ghost 4+ writes the site's own address in its exports
_OWN_IMAGE = re.compile(re.escape(GHOST_URL) + r"/content/images/[^\s\"')\]]+")


@dataclass
class GhostFile:
    records: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    media: LocalMedia = field(default_factory=lambda: LocalMedia(None))

    def add(self, kind: str, where: str, record: dict[str, Any]) -> None:
        self.records.setdefault(kind, []).append((where, record))

    def source(self) -> RecordsSource:
        return RecordsSource({**self.records, "media": self.media.records}, self.media.files)

    def close(self) -> None:
        self.media.close()


def _date(value: object) -> str | None:
    """Ghost's dates ("2019-03-04T10:00:00.000Z", or milliseconds in old exports) in ISO."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC).isoformat()
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


# --- content ------------------------------------------------------------------------------


def _mobiledoc_markdown(text: str) -> str | None:
    """The Markdown of a mobiledoc made only of Markdown cards, else None."""
    try:
        document = json.loads(text)
        cards = document.get("cards", [])
        sections = document.get("sections", [])
    except (ValueError, AttributeError):
        return None
    if not cards or any(section[0] != 10 for section in sections):
        return None  # it has rich-text sections: its HTML says it better
    parts = []
    for name, payload in cards:
        if name not in {"markdown", "card-markdown"}:
            return None
        parts.append(str(payload.get("markdown", "")))
    return "\n\n".join(parts)


_TEXT_FORMATS = ((1, "strong"), (2, "em"), (4, "s"), (8, "u"), (16, "code"))


def _lexical_html(node: Mapping[str, Any]) -> str:
    """Ghost 5's lexical document as HTML: the nodes the editor makes for text, plus its
    Markdown, image, HTML and divider cards (other cards are left out)."""
    kind = node.get("type")
    children = "".join(_lexical_html(child) for child in node.get("children", []) or [])
    if kind == "text":
        text = html.escape(str(node.get("text", "")))
        for bit, tag in _TEXT_FORMATS:
            if int(node.get("format", 0) or 0) & bit:
                text = f"<{tag}>{text}</{tag}>"
        return text
    if kind == "linebreak":
        return "<br>"
    if kind in {"link", "autolink"}:
        return f'<a href="{html.escape(str(node.get("url", "")))}">{children}</a>'
    if kind == "paragraph":
        return f"<p>{children}</p>\n"
    if kind in {"heading", "extended-heading"}:
        tag = str(node.get("tag", "h2"))
        tag = tag if tag in {"h1", "h2", "h3", "h4", "h5", "h6"} else "h2"
        return f"<{tag}>{children}</{tag}>\n"
    if kind == "list":
        tag = "ol" if node.get("listType") == "number" else "ul"
        return f"<{tag}>{children}</{tag}>\n"
    if kind == "listitem":
        return f"<li>{children}</li>"
    if kind in {"quote", "extended-quote", "aside"}:
        return f"<blockquote>{children}</blockquote>\n"
    if kind == "codeblock":
        return f"<pre><code>{html.escape(str(node.get('code', '')))}</code></pre>\n"
    if kind == "markdown":
        return f"\n<!--markdown-->{html.escape(str(node.get('markdown', '')))}<!--/markdown-->\n"
    if kind == "image":
        src = html.escape(str(node.get("src", "")))
        alt = html.escape(str(node.get("alt", "")))
        caption = node.get("caption")
        shown = f'<p><img src="{src}" alt="{alt}"></p>\n'
        return shown + (f"<p><em>{caption}</em></p>\n" if caption else "")
    if kind == "html":
        return str(node.get("html", ""))
    if kind == "horizontalrule":
        return "<hr>\n"
    return children  # the root, and nodes whose content is all that matters


def _content(post: Mapping[str, Any]) -> tuple[str, str]:
    """The post as Markdown, and the field it came from."""
    if post.get("markdown"):
        return str(post["markdown"]), "markdown"
    if post.get("mobiledoc"):
        markdown = _mobiledoc_markdown(str(post["mobiledoc"]))
        if markdown is not None:
            return markdown, "mobiledoc"
    if post.get("html"):
        return html_to_markdown(str(post["html"])), "html"
    if post.get("lexical"):
        try:
            document = json.loads(str(post["lexical"]))
        except ValueError:
            return "", "lexical"
        root = document.get("root", {}) if isinstance(document, dict) else {}
        return _lexical_markdown(_lexical_html(root)), "lexical"
    return "", "nothing"


def _lexical_markdown(text: str) -> str:
    """HTML made from lexical, with its Markdown cards kept as Markdown (not escaped)."""
    parts = text.split("<!--markdown-->")
    out = [html_to_markdown(parts[0])]
    for part in parts[1:]:
        markdown, _, rest = part.partition("<!--/markdown-->")
        out.extend([html.unescape(markdown), html_to_markdown(rest)])
    return "\n\n".join(p.strip() for p in out if p.strip())


# --- the file -----------------------------------------------------------------------------


def _data(document: object, name: str) -> tuple[dict[str, Any], str]:
    """The export's ``data`` and Ghost's version, from any of its layouts."""
    if isinstance(document, dict) and isinstance(document.get("db"), list) and document["db"]:
        document = document["db"][0]
    if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
        raise TransferError([Problem(name, 'not a Ghost export (no "data" with posts)')])
    meta = document.get("meta")
    version = meta.get("version", "") if isinstance(meta, dict) else ""
    return document["data"], str(version)


class _Reader:
    def __init__(self, name: str, data: dict[str, Any], media_dir: Path | None) -> None:
        self.name = name
        self.data = data
        self.out = GhostFile(media=LocalMedia(media_dir))
        self.usernames: set[str] = set()
        self.users: dict[str, str] = {}  # Ghost user id -> username
        self.tags: dict[str, str] = {}  # Ghost tag id -> slug

    def _list(self, key: str) -> list[dict[str, Any]]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise TransferError([Problem(self.name, "must be a list of objects", key)])
        return value

    def _username(self, wanted: str) -> str:
        base = slugify(wanted)[:28].strip("-") or "writer"
        base = base if len(base) >= 3 else f"{base}-ghost"
        name, number = base, 1
        while name in self.usernames or not USERNAME_PATTERN.fullmatch(name):
            number += 1
            name = f"{base[:26]}-{number}"
        self.usernames.add(name)
        return name

    def read(self) -> GhostFile:
        for index, user in enumerate(self._list("users")):
            where = f"{self.name}, users[{index}] ({user.get('slug') or user.get('name')!r})"
            username = self._username(str(user.get("slug") or user.get("name") or "writer"))
            self.users[str(user.get("id"))] = username
            self.out.add(
                "users",
                where,
                {
                    "username": username,
                    "email": str(user.get("email") or f"{username}@imported.invalid").lower(),
                    "role": "contributor",
                    "bio": str(user.get("bio") or "")[:2000],
                    "image_url": user.get("profile_image") or None,
                    "created_at": _date(user.get("created_at")) or utcnow().isoformat(),
                    "active": user.get("status", "active") != "inactive",
                },
            )
        for index, tag in enumerate(self._list("tags")):
            where = f"{self.name}, tags[{index}] ({tag.get('name')!r})"
            name = str(tag.get("name") or "").strip()
            if name.startswith("#") or tag.get("visibility") == "internal":
                self.out.skipped.append(("tags", where, "an internal tag (#...)"))
                continue
            slug = slugify(str(tag.get("slug") or name))[:80]
            self.tags[str(tag.get("id"))] = slug
            self.out.add("tags", where, {"name": name[:64], "slug": slug})
        post_tags: dict[str, list[str]] = {}
        for link in sorted(self._list("posts_tags"), key=lambda t: t.get("sort_order") or 0):
            tagged = self.tags.get(str(link.get("tag_id")))
            if tagged:
                post_tags.setdefault(str(link.get("post_id")), []).append(tagged)
        post_authors: dict[str, str] = {}
        for link in sorted(self._list("posts_authors"), key=lambda a: a.get("sort_order") or 0):
            post_authors.setdefault(str(link.get("post_id")), str(link.get("author_id")))
        for index, post in enumerate(self._list("posts")):
            self._post(index, post, post_tags, post_authors)
        return self.out

    def _post(
        self,
        index: int,
        post: dict[str, Any],
        post_tags: Mapping[str, list[str]],
        post_authors: Mapping[str, str],
    ) -> None:
        title = str(post.get("title") or "")
        where = f"{self.name}, posts[{index}] ({post.get('type', 'post')} {title[:40]!r})"
        status = str(post.get("status", ""))
        if status not in _STATUSES:
            self.out.skipped.append(("posts", where, f"status {status!r}"))
            return
        author_id = post_authors.get(str(post.get("id"))) or str(post.get("author_id"))
        author = self.users.get(author_id)
        if author is None:
            author = self._username("ghost")
            self.users[author_id] = author
            self.out.add(
                "users",
                where,
                {
                    "username": author,
                    "email": f"{author}@imported.invalid",
                    "role": "contributor",
                    "created_at": utcnow().isoformat(),
                },
            )
            self.out.warnings.append(f"{where}: its author is not in the file; {author} made")
        body, _origin = _content(post)
        if not body.strip():
            body = "*(This post had no content.)*"
            self.out.warnings.append(f"{where}: no content in the file")

        def warn(message: str) -> None:
            self.out.warnings.append(f"{where}: {message}")

        for url in dict.fromkeys(_OWN_IMAGE.findall(body)):
            stored = self.out.media.image(url, author, where, warn)
            if stored:
                body = self.out.media.rewrite(body, url, stored)
        if GHOST_URL in body:
            warn("images of the old site stay at their old addresses (give --media-dir)")
            body = body.replace(GHOST_URL, "")
        image = str(post.get("feature_image") or "")
        featured: dict[str, Any] = {
            "featured_image_alt": str(post.get("feature_image_alt") or "")[:300]
        }
        if image:
            stored = self.out.media.image(image, author, where, warn)
            if stored:
                featured["featured_image"] = stored
            elif image.startswith(("http://", "https://")):
                featured["featured_image_url"] = image[:1000]
            else:
                warn(f"its featured image {image} is not in --media-dir; it is left out")
        published = _STATUSES[status] == "published"
        created = _date(post.get("created_at")) or utcnow().isoformat()
        when = _date(post.get("published_at")) or created
        if post.get("type") == "page":
            self.out.add(
                "pages",
                where,
                {
                    "slug": slugify(str(post.get("slug") or title))[:100] or f"page-{index}",
                    "title": (title or "Untitled")[:200],
                    "body": body,
                    "published": published,
                    "created_at": created,
                    "updated_at": _date(post.get("updated_at")) or created,
                },
            )
            return
        self.out.add(
            "posts",
            where,
            {
                "slug": str(post.get("slug") or slugify(title) or f"post-{index}")[:220],
                "title": (title or "Untitled")[:200],
                "summary": str(post.get("custom_excerpt") or "")[:500],
                "body": body,
                "author": author,
                "status": _STATUSES[status],
                "published_at": when if published else None,
                "created_at": created,
                "updated_at": _date(post.get("updated_at")) or created,
                "tags": post_tags.get(str(post.get("id")), []),
                "meta_title": str(post.get("meta_title") or "")[:200],
                "meta_description": str(post.get("meta_description") or "")[:300],
                **featured,
            },
        )


def read_ghost(path: Path, media_dir: Path | None = None) -> GhostFile:
    """Read the Ghost export at ``path`` into records; refuse it (``TransferError``) if it is
    not JSON, not a Ghost export, or from a Ghost version this does not know."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE:
            raise TransferError([Problem(path.name, f"larger than {MAX_FILE // 2**20} MB")])
        document = json.loads(path.read_bytes())
    except json.JSONDecodeError as error:
        place = f"{path.name}, line {error.lineno}, column {error.colno}"
        raise TransferError([Problem(place, f"not valid JSON ({error.msg})")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise TransferError([Problem(path.name, f"cannot be read ({error})")]) from None
    data, version = _data(document, path.name)
    major = version.split(".", 1)[0]
    if version and (not major.isdecimal() or int(major) not in GHOST_MAJOR_VERSIONS):
        raise TransferError(
            [
                Problem(
                    path.name,
                    f"Ghost version {version!r} is not one this reads (0 to 6)",
                    "meta.version",
                )
            ]
        )
    reader = _Reader(path.name, data, media_dir)
    try:
        return reader.read()
    except BaseException:
        reader.out.close()
        raise
