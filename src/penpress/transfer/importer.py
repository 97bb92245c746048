"""Loading records into a site: checked entirely first, then written in one transaction.

The records come from a Penpress export zip (:class:`ZipSource`) or from another platform's
export converted into the same records (:class:`RecordsSource`, used by the WordPress and
Ghost importers). :func:`validate` reads every record once and refuses the whole file with
each problem's place (file, record number, field) before a row is written; :func:`load` then
reads them again and writes them, a batch at a time, into the session's one transaction,
which the caller commits (or rolls back: a dry run).

Into a site that already has content it merges: an account whose username (or address)
exists, a tag whose slug (or name) exists, a post whose slug exists are never overwritten;
the site's own is kept, the import's records refer to it instead, and each is reported.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import Select, Table, insert, select, tuple_

from penpress import page_cache
from penpress.accounts.models import Follow, Role, User
from penpress.accounts.services import ensure_roles
from penpress.blog import counts, search
from penpress.blog.markdown import render_markdown
from penpress.blog.models import Comment, Favorite, Page, Post, PostStatus, Tag, post_tags
from penpress.blog.services.pages import reserved_slugs
from penpress.database import utcnow
from penpress.extensions import cache, db
from penpress.media.models import Media
from penpress.media.storage import Storage, storage_for
from penpress.newsletter.models import Subscriber
from penpress.permissions import ROLE_PERMISSIONS
from penpress.settings.models import SiteSetting
from penpress.transfer import format as fmt
from penpress.transfer.models import LegacyPath

BATCH_SIZE = 500
MAX_PROBLEMS = 50  # a refusal lists this many problems at most
MAX_LINE = 32 * 1024 * 1024  # one record (a post's Markdown) may be this long
MEDIA_FILE_FACTOR = 4  # a stored image file may be this many times MEDIA_MAX_BYTES

Progress = Callable[[str, int], None]  # (kind, records read so far in that kind)


@dataclass(frozen=True)
class Problem:
    """Why a file is refused: where (file and record), which field, what is wrong."""

    where: str
    message: str
    field: str | None = None

    def __str__(self) -> str:
        place = f"{self.where}, field {self.field!r}" if self.field else self.where
        return f"{place}: {self.message}"


class TransferError(Exception):
    """The file is refused; nothing was written."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class ImportReport:
    imported: Counter[str] = field(default_factory=Counter)
    # (kind, what, why): records not imported, with the reason.
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Accounts this import created: (username, email, role).
    new_accounts: list[tuple[str, str, str]] = field(default_factory=list)

    def skip(self, kind: str, what: str, why: str) -> None:
        self.skipped.append((kind, what, why))

    def summary_lines(self, limit: int = 50) -> list[str]:
        """What a person reads after an import: counts, then the reasons."""
        lines = [
            "Imported: "
            + (", ".join(f"{n} {k}" for k, n in self.imported.items() if n) or "nothing")
        ]
        if self.skipped:
            by_kind = Counter(kind for kind, _, _ in self.skipped)
            lines.append("Skipped: " + ", ".join(f"{n} {k}" for k, n in by_kind.items()))
            lines.extend(f"  {kind} {what}: {why}" for kind, what, why in self.skipped[:limit])
            if len(self.skipped) > limit:
                lines.append(f"  ... and {len(self.skipped) - limit} more")
        if self.warnings:
            lines.append(f"Warnings: {len(self.warnings)}")
            lines.extend(f"  {w}" for w in self.warnings[:limit])
            if len(self.warnings) > limit:
                lines.append(f"  ... and {len(self.warnings) - limit} more")
        return lines


class Source(Protocol):
    """Where records come from, kind by kind, each with the place to name in a problem."""

    def records(self, kind: str) -> Iterator[tuple[str, object]]: ...

    def count(self, kind: str) -> int | None: ...

    def check(self) -> list[Problem]: ...

    def media_file(self, name: str) -> IO[bytes] | None:
        """The image file ``name`` (``None`` if the source lacks it)."""


class RecordsSource:
    """Records already in memory (built by the WordPress and Ghost importers), with the
    image files they name in a folder."""

    def __init__(
        self,
        records: Mapping[str, Sequence[tuple[str, object]]],
        files: Mapping[str, Path] | None = None,
    ) -> None:
        self._records = records
        self._files = dict(files or {})

    def media_file(self, name: str) -> IO[bytes] | None:
        path = self._files.get(name)
        return path.open("rb") if path else None

    def records(self, kind: str) -> Iterator[tuple[str, object]]:
        yield from self._records.get(kind, ())

    def count(self, kind: str) -> int | None:
        return len(self._records.get(kind, ()))

    def check(self) -> list[Problem]:
        return []


class ZipSource:
    """A Penpress export zip, read a line at a time (never a whole member in memory)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.archive = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError) as error:
            raise TransferError(
                [Problem(self.path.name, f"not a readable zip file ({error})")]
            ) from None
        self.manifest: dict[str, Any] = {}

    def close(self) -> None:
        self.archive.close()

    def check(self) -> list[Problem]:
        """The manifest: this format, a version this code reads, and its files present."""
        try:
            with self.archive.open(fmt.MANIFEST) as stream:
                manifest = json.loads(stream.read(MAX_LINE))
        except KeyError:
            return [Problem(fmt.MANIFEST, "missing: this is not a Penpress export")]
        except (ValueError, zipfile.BadZipFile, OSError) as error:
            return [Problem(fmt.MANIFEST, f"not readable JSON ({error})")]
        if not isinstance(manifest, dict):
            return [Problem(fmt.MANIFEST, "must be a JSON object")]
        if manifest.get("format") != fmt.FORMAT:
            return [Problem(fmt.MANIFEST, f"expected {fmt.FORMAT!r}", "format")]
        version = manifest.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            return [Problem(fmt.MANIFEST, "must be a whole number", "version")]
        if version > fmt.VERSION:
            return [
                Problem(
                    fmt.MANIFEST,
                    f"version {version} is newer than this Penpress reads ({fmt.VERSION}); "
                    "upgrade Penpress first",
                    "version",
                )
            ]
        if version < 1:
            return [Problem(fmt.MANIFEST, f"unknown version {version}", "version")]
        files = manifest.get("files")
        if not isinstance(files, dict):
            return [Problem(fmt.MANIFEST, "must list the files", "files")]
        names = set(self.archive.namelist())
        problems = [
            Problem(fmt.MANIFEST, f"lists {member!r}, which the zip does not hold", "files")
            for member in files
            if member not in names
        ]
        self.manifest = manifest
        return problems

    def media_file(self, name: str) -> IO[bytes] | None:
        try:
            return self.archive.open(fmt.MEDIA_FOLDER + name)
        except KeyError:
            return None

    def count(self, kind: str) -> int | None:
        entry = self.manifest.get("files", {}).get(fmt.KIND_NAMED[kind].file)
        return entry.get("records") if isinstance(entry, dict) else None

    def records(self, kind: str) -> Iterator[tuple[str, object]]:
        member = fmt.KIND_NAMED[kind].file
        entry = self.manifest.get("files", {}).get(member)
        if not isinstance(entry, dict):
            return  # a kind this export does not have (an older Penpress, say)
        digest = hashlib.sha256()
        number = 0
        try:
            with self.archive.open(member) as stream:
                while line := stream.readline(MAX_LINE + 1):
                    number += 1
                    digest.update(line)
                    where = f"{member}, record {number}"
                    if len(line) > MAX_LINE:
                        raise TransferError([Problem(where, "record too long")])
                    try:
                        yield where, json.loads(line)
                    except ValueError as error:
                        yield where, _Unreadable(str(error))
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise TransferError([Problem(member, f"cannot be read ({error})")]) from None
        if entry.get("records") != number:
            raise TransferError(
                [
                    Problem(
                        member, f"holds {number} records; the manifest says {entry.get('records')}"
                    )
                ]
            )
        if entry.get("sha256") not in (None, digest.hexdigest()):
            raise TransferError([Problem(member, "does not match its checksum in the manifest")])


@dataclass(frozen=True)
class _Unreadable:
    error: str


def _loaded(kind: fmt.Kind, where: str, raw: object) -> tuple[dict[str, Any] | None, list[Problem]]:
    """A record checked against its schema; the problems with their fields otherwise."""
    if isinstance(raw, _Unreadable):
        return None, [Problem(where, f"not valid JSON ({raw.error})")]
    if not isinstance(raw, dict):
        return None, [Problem(where, "must be a JSON object")]
    try:
        return kind.schema.load(raw), []
    except ValidationError as error:
        messages = error.normalized_messages()  # type: ignore[no-untyped-call]
        return None, [
            Problem(where, "; ".join(_flatten(message)), name if name != "_schema" else None)
            for name, message in messages.items()
        ]


def _flatten(message: object) -> list[str]:
    if isinstance(message, str):
        return [message]
    if isinstance(message, dict):
        return [f"{k}: {m}" for k, v in message.items() for m in _flatten(v)]
    if isinstance(message, list):
        return [m for item in message for m in _flatten(item)]
    return [str(message)]


def validate(source: Source, progress: Progress | None = None) -> None:
    """Read every record and refuse the whole source if anything is wrong: a record that
    breaks its schema, a key twice in one file, a reference to a record the file lacks."""
    problems = source.check()
    if problems:
        raise TransferError(problems)
    keys: dict[str, set[object]] = {}
    emails: set[str] = set()
    tag_names: set[str] = set()
    for kind in fmt.KINDS:
        seen: set[object] = set()
        natural = fmt.NATURAL_KEY.get(kind.name)
        names: set[object] = set()
        for number, (where, raw) in enumerate(source.records(kind.name), start=1):
            if progress and number % 1000 == 0:
                progress(kind.name, number)
            record, found = _loaded(kind, where, raw)
            if record is not None:
                found = _check_record(kind, where, record, keys, seen)
                if kind.name == "users":
                    email = str(record["email"]).lower()
                    if email in emails:
                        found.append(Problem(where, f"{email!r} appears twice", "email"))
                    emails.add(email)
                if kind.name == "tags":
                    name = str(record["name"]).lower()
                    if name in tag_names:
                        found.append(
                            Problem(where, f"tag name {record['name']!r} appears twice", "name")
                        )
                    tag_names.add(name)
                if natural:
                    names.add(record[natural])
            problems.extend(found)
            if len(problems) >= MAX_PROBLEMS:
                raise TransferError(problems[:MAX_PROBLEMS])
        keys[kind.name] = names
    if problems:
        raise TransferError(problems)


def _check_record(
    kind: fmt.Kind,
    where: str,
    record: Mapping[str, Any],
    keys: Mapping[str, set[object]],
    seen: set[object],
) -> list[Problem]:
    found = []
    if kind.key:
        key = tuple(record[name] for name in kind.key)
        if key in seen:
            shown = ", ".join(f"{n}={record[n]!r}" for n in kind.key)
            found.append(Problem(where, f"duplicate: {shown} appears twice", kind.key[0]))
        seen.add(key)
    for name, other in kind.refs.items():
        if record[name] is not None and record[name] not in keys[other]:
            found.append(Problem(where, f"{record[name]!r} is not in {other}.jsonl", name))
    for name, other in kind.list_refs.items():
        for item in record[name]:
            if item not in keys[other]:
                found.append(Problem(where, f"{item!r} is not in {other}.jsonl", name))
    return found


def _batches(source: Source, kind: str) -> Iterator[list[dict[str, Any]]]:
    """Validated records of ``kind`` (loaded through their schema again), a batch at a time."""
    schema = fmt.KIND_NAMED[kind].schema
    batch: list[dict[str, Any]] = []
    for _where, raw in source.records(kind):
        batch.append(schema.load(raw))  # type: ignore[arg-type]
        if len(batch) == BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert_returning_ids(table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` in one statement per batch and give their new ids, in order."""
    if not rows:
        return []
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(db.session.scalars(statement, rows))


class _Loader:
    """The write pass: one method per kind, each mapping the file's keys to this site's ids."""

    def __init__(
        self, source: Source, report: ImportReport, progress: Progress | None, *, files: bool
    ) -> None:
        self.source = source
        self.report = report
        self.progress = progress
        self.files = files  # whether to store image files (not on a dry run)
        self.users: dict[str, int] = {}
        self.media: dict[str, int] = {}
        self.now = utcnow()
        self.tags: dict[str, int] = {}
        self.posts: dict[str, int] = {}  # only the posts this import wrote
        self.pages: dict[str, int] = {}  # only the pages this import wrote, by the file's slug
        self.roles = {role.name: role.id for role in db.session.scalars(select(Role))}

    def run(self) -> None:
        for kind in fmt.KINDS:
            done = 0
            for batch in _batches(self.source, kind.name):
                getattr(self, f"_{kind.name}")(batch)
                done += len(batch)
                if self.progress:
                    self.progress(kind.name, done)

    def _settings(self, batch: list[dict[str, Any]]) -> None:
        existing = _pairs(
            select(SiteSetting.key, SiteSetting.value).where(
                SiteSetting.key.in_([r["key"] for r in batch])
            )
        )
        for record in batch:
            if record["key"] in existing:
                if existing[record["key"]] != record["value"]:
                    self.report.skip("settings", record["key"], "this site's value is kept")
                continue
            db.session.add(SiteSetting(key=record["key"], value=record["value"]))
            self.report.imported["settings"] += 1
        db.session.flush()

    def _roles(self, batch: list[dict[str, Any]]) -> None:
        for record in batch:
            if int(ROLE_PERMISSIONS[record["name"]]) != record["permissions"]:
                self.report.warnings.append(
                    f"role {record['name']}: its permissions here are this version's, "
                    "not the export's"
                )

    def _users(self, batch: list[dict[str, Any]]) -> None:
        names = [r["username"] for r in batch]
        emails = [r["email"].lower() for r in batch]
        by_name = _pairs(select(User.username, User.id).where(User.username.in_(names)))
        by_email = _pairs(select(User.email, User.id).where(User.email.in_(emails)))
        rows, new_names = [], []
        for record in batch:
            username, email = record["username"], record["email"].lower()
            if username in by_name:
                self.users[username] = by_name[username]
                self.report.skip("users", username, "username exists here; that account is kept")
                continue
            if email in by_email:
                self.users[username] = by_email[email]
                self.report.skip(
                    "users", username, f"{email} belongs to an account here; its content goes to it"
                )
                continue
            rows.append(
                {
                    "username": username,
                    "email": email,
                    "password_hash": record["password_hash"] or fmt.NO_PASSWORD,
                    "bio": record["bio"],
                    "image_url": record["image_url"],
                    "created_at": record["created_at"],
                    "active": record["active"],
                    "pending_approval": record["pending_approval"],
                    "email_confirmed_at": record["email_confirmed_at"],
                    "time_zone": record["time_zone"],
                    "role_id": self.roles[record["role"]],
                }
            )
            new_names.append(username)
            self.report.new_accounts.append((username, email, record["role"]))
        for username, new_id in zip(
            new_names, _insert_returning_ids(_table(User), rows), strict=True
        ):
            self.users[username] = new_id
        self.report.imported["users"] += len(rows)

    def _media(self, batch: list[dict[str, Any]]) -> None:
        names = [r["name"] for r in batch]
        self.media.update(_pairs(select(Media.name, Media.id).where(Media.name.in_(names))))
        storage = storage_for()
        rows, new_names = [], []
        for record in batch:
            name = record["name"]
            if name in self.media:
                continue  # stored names are random: the same name is the same image
            versions = fmt.image_files(name, record["widths"])
            if not self._store(storage, versions):
                self.report.skip(
                    "media", name, "its files are missing from the export or not images"
                )
                continue
            rows.append(
                {
                    "name": name,
                    "owner_id": self.users[record["owner"]],
                    "content_type": record["content_type"],
                    "width": record["width"],
                    "height": record["height"],
                    "byte_size": record["byte_size"],
                    "widths": record["widths"],
                    "original_name": record["original_name"],
                    "created_at": record["created_at"],
                }
            )
            new_names.append(name)
        for name, new_id in zip(new_names, _insert_returning_ids(_table(Media), rows), strict=True):
            self.media[name] = new_id
        self.report.imported["media"] += len(rows)

    def _store(self, storage: Storage, names: list[str]) -> bool:
        """Copy an image's files into the media storage; False if one is missing, too large
        or not the kind of image its name says (it is served as that type)."""
        limit = MEDIA_FILE_FACTOR * int(current_app.config["MEDIA_MAX_BYTES"])
        found = []
        for name in names:
            stream = self.source.media_file(name)
            if stream is None:
                return False
            with stream:
                data = stream.read(limit + 1)
            if len(data) > limit or not _is_image_named(name, data):
                self.report.warnings.append(f"media/{name}: not a stored image; left out")
                return False
            found.append((name, data))
        if self.files:
            for name, data in found:
                storage.save(name, data)
        return True

    def _tags(self, batch: list[dict[str, Any]]) -> None:
        slugs = [r["slug"] for r in batch]
        by_slug = _pairs(select(Tag.slug, Tag.id).where(Tag.slug.in_(slugs)))
        by_name = {
            name.lower(): tag_id
            for name, tag_id in db.session.execute(
                select(Tag.name, Tag.id).where(Tag.name.in_([r["name"] for r in batch]))
            )
        }
        rows, new_slugs = [], []
        for record in batch:
            slug = record["slug"]
            known = by_slug.get(slug) or by_name.get(record["name"].lower())
            if known is not None:
                self.tags[slug] = known  # the same tag: posts are tagged with this site's
                continue
            rows.append({"name": record["name"], "slug": slug})
            new_slugs.append(slug)
        for slug, new_id in zip(new_slugs, _insert_returning_ids(_table(Tag), rows), strict=True):
            self.tags[slug] = new_id
        self.report.imported["tags"] += len(rows)

    def _posts(self, batch: list[dict[str, Any]]) -> None:
        slugs = [r["slug"] for r in batch]
        taken = set(db.session.scalars(select(Post.slug).where(Post.slug.in_(slugs))))
        rows, kept = [], []
        for record in batch:
            if record["slug"] in taken:
                self.report.skip("posts", record["slug"], "a post here has this slug; it is kept")
                continue
            rows.append(self._post_row(record))
            kept.append(record)
        ids = _insert_returning_ids(_table(Post), rows)
        links: list[dict[str, int]] = []
        for record, post_id in zip(kept, ids, strict=True):
            self.posts[record["slug"]] = post_id
            links.extend(
                {"post_id": post_id, "tag_id": self.tags[slug]}
                for slug in dict.fromkeys(record["tags"])
            )
        if links:
            # The same tag twice (two slugs merged into one tag of this site) is linked once.
            unique = {(link["post_id"], link["tag_id"]): link for link in links}
            db.session.execute(insert(post_tags), list(unique.values()))
        search.retag_posts(ids)  # the index's copy of their tag names
        self.report.imported["posts"] += len(rows)

    def _post_row(self, record: Mapping[str, Any]) -> dict[str, Any]:
        published = record["status"] == PostStatus.PUBLISHED
        when = record["published_at"]
        # Already live: marked so, or the went-live step would run every imported post's
        # one-off work (announcements) now. A scheduled post goes live at its time.
        live = published and when is not None and when <= self.now
        return {
            "title": record["title"],
            "slug": record["slug"],
            "summary": record["summary"],
            "body": record["body"],
            "body_html": render_markdown(record["body"]),  # never the file's HTML
            "published": published,
            "status": record["status"],
            "published_at": record["published_at"],
            "went_live_at": when if live else None,
            "submitted_at": record["submitted_at"],
            "review_note": record["review_note"],
            "created_at": record["created_at"],
            "updated_at": record["updated_at"],
            "views": record["views"],
            "author_id": self.users[record["author"]],
            "featured_image_id": self._featured(record),
            "featured_image_url": record["featured_image_url"],
            "featured_image_alt": record["featured_image_alt"],
            "meta_title": record["meta_title"],
            "meta_description": record["meta_description"],
        }

    def _featured(self, record: Mapping[str, Any]) -> int | None:
        name = record["featured_image"]
        if name is None:
            return None
        if name not in self.media:
            self.report.warnings.append(
                f"post {record['slug']}: its featured image {name} is missing"
            )
        return self.media.get(name)

    def _pages(self, batch: list[dict[str, Any]]) -> None:
        slugs = [r["slug"] for r in batch]
        taken = set(db.session.scalars(select(Page.slug).where(Page.slug.in_(slugs))))
        reserved = reserved_slugs()
        rows, file_slugs = [], []
        for record in batch:
            slug = record["slug"]
            if slug in taken:
                self.report.skip("pages", slug, "a page here has this slug; it is kept")
                continue
            if slug in reserved:
                moved = f"{slug}-page"
                if moved in taken or moved in reserved or self._page_taken(moved):
                    self.report.skip("pages", slug, f"/{slug} is an address the site uses")
                    continue
                self.report.warnings.append(f"page {slug}: /{slug} is the site's; it is /{moved}")
                slug = moved
            taken.add(slug)
            file_slugs.append(record["slug"])
            rows.append(
                {
                    "slug": slug,
                    "title": record["title"],
                    "body": record["body"],
                    "body_html": render_markdown(record["body"]),
                    "published": record["published"],
                    "show_in_nav": record["show_in_nav"],
                    "nav_order": record["nav_order"],
                    "created_at": record["created_at"],
                    "updated_at": record["updated_at"],
                }
            )
        for file_slug, new_id in zip(
            file_slugs, _insert_returning_ids(_table(Page), rows), strict=True
        ):
            self.pages[file_slug] = new_id
        self.report.imported["pages"] += len(rows)

    @staticmethod
    def _page_taken(slug: str) -> bool:
        return db.session.scalar(select(Page.id).where(Page.slug == slug)) is not None

    def _redirects(self, batch: list[dict[str, Any]]) -> None:
        taken = set(
            db.session.scalars(
                select(LegacyPath.path).where(LegacyPath.path.in_([r["path"] for r in batch]))
            )
        )
        rows = []
        for record in batch:
            post_id = self.posts.get(record["post"]) if record["post"] else None
            page_id = self.pages.get(record["page"]) if record["page"] else None
            if record["path"] in taken:
                self.report.skip("redirects", record["path"], "this address already redirects")
            elif post_id is None and page_id is None:
                what = "post" if record["post"] else "page"
                self.report.skip("redirects", record["path"], f"its {what} was not imported")
            else:
                rows.append({"path": record["path"], "post_id": post_id, "page_id": page_id})
        if rows:
            db.session.execute(insert(_table(LegacyPath)), rows)
        self.report.imported["redirects"] += len(rows)

    def _comments(self, batch: list[dict[str, Any]]) -> None:
        rows = []
        for record in batch:
            post_id = self.posts.get(record["post"])
            if post_id is None:
                self.report.skip("comments", f"on {record['post']}", "its post was not imported")
                continue
            rows.append(
                {
                    "body": record["body"],
                    # Spam is never approved, whatever the file says: it stays hidden.
                    "approved": record["approved"] and not record["spam"],
                    "spam": record["spam"],
                    "created_at": record["created_at"],
                    "updated_at": record["updated_at"],
                    "author_id": self.users[record["author"]],
                    "post_id": post_id,
                }
            )
        if rows:
            db.session.execute(insert(_table(Comment)), rows)
        self.report.imported["comments"] += len(rows)

    def _favorites(self, batch: list[dict[str, Any]]) -> None:
        pairs = {}
        for record in batch:
            post_id = self.posts.get(record["post"])
            if post_id is None:
                self.report.skip(
                    "favorites",
                    f"{record['user']} on {record['post']}",
                    "its post was not imported",
                )
                continue
            pairs[(self.users[record["user"]], post_id)] = record["created_at"]
        self._insert_pairs(_table(Favorite), "user_id", "post_id", pairs, "favorites")

    def _follows(self, batch: list[dict[str, Any]]) -> None:
        pairs = {}
        for record in batch:
            follower, followed = self.users[record["follower"]], self.users[record["followed"]]
            if follower != followed:  # two usernames merged into one account here
                pairs[(follower, followed)] = record["created_at"]
        self._insert_pairs(_table(Follow), "follower_id", "followed_id", pairs, "follows")

    def _subscribers(self, batch: list[dict[str, Any]]) -> None:
        emails = [r["email"].lower() for r in batch]
        here = set(db.session.scalars(select(Subscriber.email).where(Subscriber.email.in_(emails))))
        rows = []
        for record in batch:
            email = record["email"].lower()
            if email in here:
                self.report.skip("subscribers", email, "already on this site's list; kept as it is")
                continue
            rows.append(
                {
                    "email": email,
                    "status": record["status"],
                    "source": record["source"],
                    "created_at": record["created_at"],
                    "confirmed_at": record["confirmed_at"],
                    "unsubscribed_at": record["unsubscribed_at"],
                    # Without the export's secret, old unsubscribe links stop working; the
                    # next email carries new ones.
                    "secret": record["secret"] or secrets.token_hex(16),
                    "failures": 0,
                }
            )
        if rows:
            db.session.execute(insert(_table(Subscriber)), rows)
        self.report.imported["subscribers"] += len(rows)

    def _insert_pairs(
        self, table: Table, first: str, second: str, pairs: dict[tuple[int, int], Any], kind: str
    ) -> None:
        """Rows keyed by two ids; those already here are left as they are."""
        if not pairs:
            return
        existing = set(
            db.session.execute(
                select(table.c[first], table.c[second]).where(
                    tuple_(table.c[first], table.c[second]).in_(list(pairs))
                )
            )
        )
        rows = [
            {first: a, second: b, "created_at": created_at}
            for (a, b), created_at in pairs.items()
            if (a, b) not in existing
        ]
        if rows:
            db.session.execute(insert(table), rows)
        self.report.imported[kind] += len(rows)


_MAGIC = {
    "jpg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "gif": (b"GIF87a", b"GIF89a"),
    "webp": (b"RIFF",),
}


def _is_image_named(name: str, data: bytes) -> bool:
    """Whether ``data`` starts as the image format its name's extension says."""
    extension = name.rpartition(".")[2]
    if extension == "webp" and data[8:12] != b"WEBP":
        return False
    return data.startswith(_MAGIC.get(extension, (b"\0\0unknown",)))


def _pairs(statement: Select[Any, Any]) -> dict[Any, Any]:
    """A two-column query as a dict of its first column to its second."""
    return dict(db.session.execute(statement).all())


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def load(
    source: Source, progress: Progress | None = None, *, store_files: bool = True
) -> ImportReport:
    """Trusted (the CLI and the admin's import; no actor is checked): write a validated
    source into the session's transaction. Flushes, never commits.

    Image files go into the media storage as they are met (not on a dry run, ``store_files``
    false): a transaction that then rolls back leaves files no row names, as a failed upload
    does, which nothing links to."""
    ensure_roles()
    report = ImportReport()
    _Loader(source, report, progress, files=store_files).run()
    db.session.flush()
    # The rows went in by bulk inserts, past the services that keep the counters.
    counts.recount()
    page_cache.site_changed()
    return report


def after_import() -> None:
    """After an import is committed: cached pages, counts and settings are stale, so the
    cache is emptied."""
    cache.clear()


def open_zip(path: Path) -> ZipSource:
    """The export zip at ``path`` (refused at once if it is not a zip)."""
    return ZipSource(Path(path))
