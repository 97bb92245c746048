"""A WordPress export (WXR, "WordPress eXtended RSS") read into Penpress records.

The XML is parsed with defusedxml, a stream of elements, with entity declarations refused
(a "billion laughs" file that would expand into gigabytes is refused before any expansion)
and no external entities or DTDs fetched. What it holds becomes the records of the Penpress
format (``format.py``), so the import checks and writes them exactly as it does an export:

- authors (``wp:author``) become contributors without a password (claimed with a password
  reset link); commenters become readers the same way, one account per address;
- posts keep their slug, status (``publish`` published, ``future`` scheduled, ``draft`` and
  ``private`` drafts, ``pending`` waiting for review), dates, excerpt, categories and tags
  (both become tags), and their content as Markdown (``content.py``);
- comments keep their approval (``1`` approved, ``0`` pending); spam, trashed comments,
  pingbacks and trackbacks are left out; replies are flattened, starting with ``@name``;
- each post's old addresses (``/?p=ID`` and ``/YYYY/MM/DD/slug/``) redirect to it, and each
  page's (``/?page_id=ID`` and, published, ``/slug/``) to the page;
- images (attachments, featured images) are copied from ``--media-dir`` when their files are
  there (``localmedia``), and otherwise kept as links to their old addresses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from xml.etree.ElementTree import Element

import defusedxml
import defusedxml.ElementTree as SafeElementTree
from slugify import slugify

from penpress.accounts.services import USERNAME_PATTERN
from penpress.database import utcnow
from penpress.transfer.content import wordpress_to_markdown
from penpress.transfer.importer import Problem, RecordsSource, TransferError
from penpress.transfer.localmedia import LocalMedia

WXR_VERSIONS = ("1.0", "1.1", "1.2")
_WP_NAMESPACE = "http://wordpress.org/export/"
_NAMESPACES = {
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://purl.org/dc/elements/1.1/": "dc",
}
_NO_DATE = "0000-00-00 00:00:00"
_STATUSES = {
    "publish": "published",
    "future": "published",  # a published post whose time has not come is a scheduled one
    "draft": "draft",
    "auto-draft": "draft",
    "private": "draft",
    "pending": "submitted",
}
GUEST_DOMAIN = "imported.invalid"  # addresses made up for commenters who left none


def _name(tag: str) -> str:
    """``{http://wordpress.org/export/1.2/}post_id`` as ``wp:post_id``."""
    if not tag.startswith("{"):
        return tag
    namespace, _, local = tag[1:].partition("}")
    if namespace.startswith(_WP_NAMESPACE):
        return f"excerpt:{local}" if namespace.rstrip("/").endswith("excerpt") else f"wp:{local}"
    prefix = _NAMESPACES.get(namespace)
    return f"{prefix}:{local}" if prefix else local


def _fields(element: Element) -> dict[str, str]:
    """An element's children as ``{"wp:post_id": "12", ...}`` (the first of each name)."""
    found: dict[str, str] = {}
    for child in element:
        found.setdefault(_name(child.tag), (child.text or "").strip())
    return found


def _date(value: str | None) -> datetime | None:
    if not value or value.startswith(_NO_DATE[:10]):
        return None
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


@dataclass
class WordPressFile:
    """What a WXR file holds, as records, with what was left out and why."""

    records: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    pages: int = 0
    media: LocalMedia = field(default_factory=lambda: LocalMedia(None))

    def add(self, kind: str, where: str, record: dict[str, Any]) -> None:
        self.records.setdefault(kind, []).append((where, record))

    def source(self) -> RecordsSource:
        return RecordsSource({**self.records, "media": self.media.records}, self.media.files)

    def close(self) -> None:
        """Remove the images copied from ``--media-dir`` (stored by then, or not wanted)."""
        self.media.close()


class _Reader:
    def __init__(self, path: Path, media_dir: Path | None) -> None:
        self.path = path
        self.out = WordPressFile(media=LocalMedia(media_dir))
        self.version: str | None = None
        self.authors: dict[str, str] = {}  # WordPress login -> username here
        self.usernames: set[str] = set()
        self.emails: dict[str, str] = {}  # address -> username
        self.tags: dict[str, str] = {}  # slug -> name
        self.tag_names: set[str] = set()
        self.attachments: dict[str, str] = {}  # attachment id -> its address
        self.items: list[tuple[int, Element]] = []
        self.slugs: set[str] = set()
        self.page_links: set[str] = set()  # pages' old permalinks (/slug/), each once

    # --- accounts -----------------------------------------------------------------------

    def _username(self, wanted: str) -> str:
        """A username the site accepts, made from ``wanted`` and unique in this import."""
        base = slugify(wanted, separator="-", lowercase=False)[:28].strip("-._") or "writer"
        if len(base) < 3:
            base = f"{base}-wp"
        name, number = base, 1
        while name.lower() in self.usernames or not USERNAME_PATTERN.fullmatch(name):
            number += 1
            name = f"{base[:26]}-{number}"
        self.usernames.add(name.lower())
        return name

    def _account(self, where: str, wanted: str, email: str, role: str, bio: str = "") -> str:
        email = email.strip().lower()
        if email in self.emails:
            return self.emails[email]
        username = self._username(wanted)
        if not email:
            email = f"{username.lower()}@{GUEST_DOMAIN}"
        self.emails[email] = username
        self.out.add(
            "users",
            where,
            {
                "username": username,
                "email": email,
                "role": role,
                "bio": bio,
                "created_at": utcnow().isoformat(),
                "active": True,
            },
        )
        return username

    def author(self, index: int, element: Element) -> None:
        data = _fields(element)
        login = data.get("wp:author_login", "")
        where = f"{self.path.name}, author {index} ({login or '?'})"
        display = data.get("wp:author_display_name") or login
        self.authors[login] = self._account(
            where, login or display, data.get("wp:author_email", ""), "contributor"
        )

    # --- tags ---------------------------------------------------------------------------

    def _tag(self, name: str, slug: str | None, where: str) -> str | None:
        name = name.strip()[:64]
        if not name:
            return None
        slug = (slugify(unquote(slug or "")) or slugify(name) or "tag")[:80]
        if slug in self.tags:
            return slug
        if name.lower() in self.tag_names:
            # The same name as a category and as a tag: one tag here.
            return next(s for s, n in self.tags.items() if n.lower() == name.lower())
        self.tags[slug] = name
        self.tag_names.add(name.lower())
        self.out.add("tags", where, {"name": name, "slug": slug})
        return slug

    # --- items --------------------------------------------------------------------------

    def item(self, index: int, element: Element) -> None:
        data = _fields(element)
        kind = data.get("wp:post_type", "post")
        if kind == "attachment":
            url = data.get("wp:attachment_url") or data.get("guid", "")
            if url:
                self.attachments[data.get("wp:post_id", "")] = url
            return
        self.items.append((index, element))

    def finish_items(self) -> None:
        for index, element in self.items:
            self._post(index, element)

    def _post(self, index: int, element: Element) -> None:
        data = _fields(element)
        kind = data.get("wp:post_type", "post")
        title = data.get("title", "")
        post_id = data.get("wp:post_id", "")
        where = f"{self.path.name}, item {index} ({kind} {post_id} {title[:40]!r})"
        if kind not in {"post", "page"}:
            self.out.skipped.append(("items", where, f"a {kind!r} is not a post or a page"))
            return
        status = data.get("wp:status", "")
        if status not in _STATUSES:
            self.out.skipped.append(("posts", where, f"status {status!r} (in the trash?)"))
            return
        if status == "private":
            self.out.warnings.append(f"{where}: private in WordPress, a draft here")
        # WordPress keeps non-ASCII slugs percent-encoded ("%c3%bcber"); its links show them
        # decoded, and addresses here are ASCII ("uber").
        old_slug = unquote(data.get("wp:post_name", "")).strip()
        slug = slugify(old_slug)[:220] if old_slug else ""
        if not slug:
            slug = self._free_slug(slugify(title) or f"{kind}-{post_id or index}")
        self.slugs.add(slug)

        def warn(message: str) -> None:
            self.out.warnings.append(f"{where}: {message}")

        body = wordpress_to_markdown(data.get("content:encoded", ""), self.attachments, warn)
        if not body.strip():
            body = "*(This post had no content.)*"
        written = _date(data.get("wp:post_date_gmt")) or _date(data.get("wp:post_date"))
        modified = _date(data.get("wp:post_modified_gmt")) or written
        when = written or utcnow()
        creator = data.get("dc:creator", "")
        author = self.authors.get(creator)
        if author is None:
            author = self._account(where, creator or "wordpress", "", "contributor")
            self.authors[creator] = author
        tags = []
        for category in element.findall("category"):
            slug_of = self._tag(category.text or "", category.get("nicename"), where)
            if slug_of and slug_of not in tags:
                tags.append(slug_of)
        summary = re.sub(r"\s+", " ", _plain(data.get("excerpt:encoded", "")))[:500]
        published = _STATUSES[status] == "published"
        record: dict[str, Any] = {
            "slug": slug,
            "title": (title or slug)[:200],
            "summary": summary,
            "body": body,
            "author": author,
            "status": _STATUSES[status],
            "published_at": when.isoformat() if published else None,
            "submitted_at": when.isoformat() if status == "pending" else None,
            "created_at": when.isoformat(),
            "updated_at": (modified or when).isoformat(),
            "tags": tags,
        }
        for url in self.attachments.values():
            stem = url.rpartition(".")[0] or url
            if stem in record["body"]:
                stored = self.out.media.image(url, author, where, warn)
                if stored:
                    record["body"] = self.out.media.rewrite(record["body"], url, stored)
        thumbnail = self._meta(element).get("_thumbnail_id")
        if thumbnail:
            address = self.attachments.get(thumbnail)
            if address is None:
                warn("its featured image is not in the export")
            elif stored := self.out.media.image(address, author, where, warn):
                record["featured_image"] = stored
            else:
                record["featured_image_url"] = address[:1000]
        if kind == "page":
            self._page(where, record, data, post_id, old_slug)
            return
        self.out.add("posts", where, record)
        if post_id.isdecimal():
            self.out.add("redirects", where, {"path": f"/?p={int(post_id)}", "post": slug})
        if published and written and kind == "post":
            dated = f"/{written:%Y/%m/%d}/{old_slug or slug}/"
            self.out.add("redirects", where, {"path": dated, "post": slug})
        self._comments(element, where, slug)

    def _page(
        self,
        where: str,
        record: dict[str, Any],
        data: Mapping[str, str],
        page_id: str,
        old_slug: str,
    ) -> None:
        """A WordPress page: a page here, at its slug; its old addresses (``/?page_id=ID``,
        and the permalink ``/<slug>/`` of a published one) redirect to it."""
        self.out.pages += 1
        order = data.get("wp:menu_order", "0")
        slug = record["slug"][:100]
        if page_id.isdecimal():
            self.out.add("redirects", where, {"path": f"/?page_id={int(page_id)}", "page": slug})
        permalink = f"/{old_slug}/"
        if (
            record["status"] == "published"
            and old_slug
            and "/" not in old_slug
            and permalink not in self.page_links
            and len(permalink) <= 500
        ):
            self.page_links.add(permalink)
            self.out.add("redirects", where, {"path": permalink, "page": slug})
        self.out.add(
            "pages",
            where,
            {
                "slug": slug,
                "title": record["title"],
                "body": record["body"],
                "published": record["status"] == "published",
                "nav_order": int(order) if order.lstrip("-").isdecimal() else 0,
                "created_at": record["created_at"],
                "updated_at": record["updated_at"],
            },
        )

    def _free_slug(self, base: str) -> str:
        slug, number = base[:200], 1
        while slug in self.slugs:
            number += 1
            slug = f"{base[:200]}-{number}"
        return slug

    @staticmethod
    def _meta(element: Element) -> dict[str, str]:
        meta = {}
        for child in element:
            if _name(child.tag) == "wp:postmeta":
                data = _fields(child)
                meta[data.get("wp:meta_key", "")] = data.get("wp:meta_value", "")
        return meta

    def _comments(self, element: Element, where: str, slug: str) -> None:
        comments = [_fields(c) for c in element if _name(c.tag) == "wp:comment"]
        names = {c.get("wp:comment_id", ""): c.get("wp:comment_author", "") for c in comments}
        for number, data in enumerate(comments, start=1):
            place = f"{where}, comment {number}"
            state = data.get("wp:comment_approved", "")
            kind = data.get("wp:comment_type", "")
            if state not in {"0", "1"}:
                self.out.skipped.append(("comments", place, f"marked {state!r} in WordPress"))
                continue
            if kind in {"pingback", "trackback"}:
                self.out.skipped.append(("comments", place, f"a {kind}"))
                continue
            text = wordpress_to_markdown(data.get("wp:comment_content", ""), {}, lambda _m: None)
            if not text:
                self.out.skipped.append(("comments", place, "empty"))
                continue
            parent = data.get("wp:comment_parent", "0")
            if parent not in {"", "0"} and names.get(parent):
                text = f"@{names[parent]} {text}"  # replies are flattened
            who = data.get("wp:comment_author") or "guest"
            author = self._account(place, who, data.get("wp:comment_author_email", ""), "reader")
            when = (
                _date(data.get("wp:comment_date_gmt"))
                or _date(data.get("wp:comment_date"))
                or utcnow()
            )
            self.out.add(
                "comments",
                place,
                {
                    "post": slug,
                    "author": author,
                    "body": text,
                    "approved": state == "1",
                    "created_at": when.isoformat(),
                    "updated_at": when.isoformat(),
                },
            )

    def category(self, element: Element) -> None:
        data = _fields(element)
        name = data.get("wp:cat_name") or data.get("wp:tag_name") or ""
        slug = data.get("wp:category_nicename") or data.get("wp:tag_slug")
        self._tag(name, slug, f"{self.path.name}, category {name!r}")


def _plain(text: str) -> str:
    return re.sub(r"<[^>]+>", " ", text).strip()


def _events(path: Path) -> Iterator[tuple[str, Element]]:
    """The file's elements as they end (and the channel as it starts), safely parsed."""
    parser = SafeElementTree.iterparse(
        str(path), events=("start", "end"), forbid_dtd=False, forbid_entities=True
    )
    yield from parser


def read_wordpress(path: Path, media_dir: Path | None = None) -> WordPressFile:
    """Read the WXR file at ``path`` into records; refuse it (``TransferError``) if it is not
    a readable WordPress export of a known version. Images whose files are in ``media_dir``
    are taken from there (see ``localmedia``); the others stay links."""
    path = Path(path)
    reader = _Reader(path, media_dir)
    authors = items = 0
    channel: Element | None = None
    try:
        for event, element in _events(path):
            name = _name(element.tag)
            if event == "start":
                if name == "channel":
                    channel = element
                continue
            if name == "wp:wxr_version":
                reader.version = (element.text or "").strip()
            elif name == "wp:author" and channel is not None:
                authors += 1
                reader.author(authors, element)
            elif name in {"wp:category", "wp:tag"}:
                reader.category(element)
            elif name == "item":
                items += 1
                reader.item(items, element)
                if channel is not None:
                    channel.remove(element)  # the channel stays small; the item is kept
    except defusedxml.EntitiesForbidden:
        raise TransferError(
            [
                Problem(
                    path.name,
                    "declares XML entities, which are refused: a crafted file can expand them "
                    'into gigabytes ("billion laughs"). A WordPress export has none.',
                )
            ]
        ) from None
    except defusedxml.DefusedXmlException as error:
        raise TransferError([Problem(path.name, f"refused: {error}")]) from None
    except ElementTree.ParseError as error:
        line, column = error.position
        place = f"{path.name}, line {line}, column {column}"
        raise TransferError([Problem(place, f"not well-formed XML ({error})")]) from None
    except OSError as error:
        raise TransferError([Problem(path.name, f"cannot be read ({error})")]) from None
    if reader.version is None:
        raise TransferError(
            [Problem(path.name, "not a WordPress export (no wp:wxr_version in its channel)")]
        )
    if reader.version not in WXR_VERSIONS:
        raise TransferError(
            [
                Problem(
                    path.name,
                    f"WXR version {reader.version!r} is not one this reads "
                    f"({', '.join(WXR_VERSIONS)})",
                    "wp:wxr_version",
                )
            ]
        )
    try:
        reader.finish_items()
    except BaseException:
        reader.out.close()
        raise
    return reader.out
