"""Writing a whole site to an export zip (``docs/export-format.md``), a batch at a time.

A site may hold 100,000+ posts: every table is read as a stream (``yield_per``) and each batch
is written to the zip and dropped before the next is read, so memory stays flat whatever the
size. Everything is read in one transaction (on PostgreSQL a repeatable-read snapshot), so
the export is one consistent moment of a site that keeps taking writes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import aliased

from penpress.accounts.models import Follow, Role, User
from penpress.blog.models import Comment, Favorite, Page, Post, Tag, post_tags
from penpress.database import utcnow
from penpress.extensions import db
from penpress.media.models import Media
from penpress.media.storage import storage_for
from penpress.newsletter.models import Subscriber
from penpress.settings.models import SiteSetting
from penpress.transfer import format as fmt
from penpress.transfer.models import LegacyPath

BATCH_SIZE = 1000

Progress = Callable[[str, int], None]  # (kind, records written so far in that kind)


@dataclass
class ExportReport:
    path: Path
    counts: dict[str, int] = field(default_factory=dict)
    files: int = 0  # image files written into media/
    missing_files: list[str] = field(default_factory=list)  # named by a row, not stored


class _Counter:
    """Counts the records and hashes the bytes written to one member of the zip."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.count = 0
        self.sha256 = hashlib.sha256()

    def write(self, record: Mapping[str, object]) -> None:
        line = fmt.dump_line(record)
        self.stream.write(line)
        self.sha256.update(line)
        self.count += 1


def _stream(statement: Select[*tuple[Any, ...]]) -> Iterator[Sequence[Row[Any]]]:
    """The statement's rows, ``BATCH_SIZE`` at a time, from a server-side cursor."""
    result = db.session.execute(statement.execution_options(yield_per=BATCH_SIZE))
    yield from result.partitions()


def _settings() -> Iterator[dict[str, object]]:
    for batch in _stream(select(SiteSetting.key, SiteSetting.value).order_by(SiteSetting.key)):
        for row in batch:
            yield {"key": row.key, "value": row.value}


def _roles() -> Iterator[dict[str, object]]:
    for batch in _stream(select(Role.name, Role.permissions).order_by(Role.id)):
        for row in batch:
            yield {"name": row.name, "permissions": row.permissions}


def _users(with_secrets: bool) -> Iterator[dict[str, object]]:
    columns = [
        User.username,
        User.email,
        Role.name.label("role"),
        User.bio,
        User.image_url,
        User.created_at,
        User.active,
        User.pending_approval,
        User.email_confirmed_at,
        User.time_zone,
        User.password_hash,
    ]
    statement = select(*columns).join(Role, User.role_id == Role.id).order_by(User.id)
    for batch in _stream(statement):
        for row in batch:
            record = dict(row._mapping)
            if with_secrets:
                record["password_hash"] = row.password_hash
            else:
                del record["password_hash"]
            yield record


def _media() -> Iterator[dict[str, object]]:
    statement = (
        select(
            Media.name,
            User.username.label("owner"),
            Media.content_type,
            Media.width,
            Media.height,
            Media.byte_size,
            Media.widths,
            Media.original_name,
            Media.created_at,
        )
        .join(User, Media.owner_id == User.id)
        .order_by(Media.id)
    )
    for batch in _stream(statement):
        for row in batch:
            yield dict(row._mapping)


def _media_files(archive: zipfile.ZipFile, report: ExportReport) -> None:
    """Every stored file of every image, into ``media/`` (a file the storage lacks is
    reported, and the import then leaves that image out)."""
    storage = storage_for()
    for batch in _stream(select(Media.name, Media.widths).order_by(Media.id)):
        for row in batch:
            for name in fmt.image_files(row.name, row.widths):
                try:
                    with (
                        storage.open(name) as stored,
                        archive.open(fmt.MEDIA_FOLDER + name, "w", force_zip64=True) as packed,
                    ):
                        shutil.copyfileobj(stored, packed)
                    report.files += 1
                except FileNotFoundError:
                    report.missing_files.append(name)


def _tags() -> Iterator[dict[str, object]]:
    for batch in _stream(select(Tag.name, Tag.slug).order_by(Tag.id)):
        for row in batch:
            yield {"name": row.name, "slug": row.slug}


def _posts() -> Iterator[dict[str, object]]:
    statement = (
        select(
            Post.id,
            Post.slug,
            Post.title,
            Post.summary,
            Post.body,
            User.username.label("author"),
            Post.status,
            Post.published,
            Post.published_at,
            Post.submitted_at,
            Post.review_note,
            Post.created_at,
            Post.updated_at,
            Post.views,
            Media.name.label("featured_image"),
            Post.featured_image_url,
            Post.featured_image_alt,
            Post.meta_title,
            Post.meta_description,
        )
        .join(User, Post.author_id == User.id)
        .outerjoin(Media, Post.featured_image_id == Media.id)
        .order_by(Post.id)
    )
    for batch in _stream(statement):
        tags: dict[int, list[str]] = {}
        ids = [row.id for row in batch]
        for post_id, slug in db.session.execute(
            select(post_tags.c.post_id, Tag.slug)
            .join(Tag, Tag.id == post_tags.c.tag_id)
            .where(post_tags.c.post_id.in_(ids))
            .order_by(post_tags.c.post_id, Tag.slug)
        ):
            tags.setdefault(post_id, []).append(slug)
        for row in batch:
            record = dict(row._mapping)
            del record["id"]
            # ``published`` mirrors the status (see PostStatus); the status is what is written.
            record["status"] = "published" if record.pop("published") else row.status
            record["tags"] = tags.get(row.id, [])
            for name in ("featured_image", "featured_image_url", "featured_image_alt"):
                record[name] = record.pop(name)  # after the tags, as the format lists them
            for name in ("meta_title", "meta_description"):
                record[name] = record.pop(name)
            yield record


def _pages() -> Iterator[dict[str, object]]:
    statement = select(
        Page.slug,
        Page.title,
        Page.body,
        Page.published,
        Page.show_in_nav,
        Page.nav_order,
        Page.created_at,
        Page.updated_at,
    ).order_by(Page.id)
    for batch in _stream(statement):
        for row in batch:
            yield dict(row._mapping)


def _redirects() -> Iterator[dict[str, object]]:
    statement = (
        select(LegacyPath.path, Post.slug.label("post"), Page.slug.label("page"))
        .outerjoin(Post, LegacyPath.post_id == Post.id)
        .outerjoin(Page, LegacyPath.page_id == Page.id)
        .order_by(LegacyPath.path)
    )
    for batch in _stream(statement):
        for row in batch:
            # A post's address as format version 1 always wrote it; a page's names the page.
            if row.post is not None:
                yield {"path": row.path, "post": row.post}
            else:
                yield {"path": row.path, "page": row.page}


def _comments() -> Iterator[dict[str, object]]:
    statement = (
        select(
            Post.slug.label("post"),
            User.username.label("author"),
            Comment.body,
            Comment.approved,
            Comment.spam,
            Comment.created_at,
            Comment.updated_at,
        )
        .join(Post, Comment.post_id == Post.id)
        .join(User, Comment.author_id == User.id)
        .order_by(Comment.id)
    )
    for batch in _stream(statement):
        for row in batch:
            yield dict(row._mapping)


def _favorites() -> Iterator[dict[str, object]]:
    statement = (
        select(User.username.label("user"), Post.slug.label("post"), Favorite.created_at)
        .join(User, Favorite.user_id == User.id)
        .join(Post, Favorite.post_id == Post.id)
        .order_by(Favorite.user_id, Favorite.post_id)
    )
    for batch in _stream(statement):
        for row in batch:
            yield dict(row._mapping)


def _follows() -> Iterator[dict[str, object]]:
    follower, followed = aliased(User), aliased(User)
    statement = (
        select(
            follower.username.label("follower"),
            followed.username.label("followed"),
            Follow.created_at,
        )
        .join(follower, Follow.follower_id == follower.id)
        .join(followed, Follow.followed_id == followed.id)
        .order_by(Follow.follower_id, Follow.followed_id)
    )
    for batch in _stream(statement):
        for row in batch:
            yield dict(row._mapping)


def _subscribers(with_secrets: bool) -> Iterator[dict[str, object]]:
    statement = select(
        Subscriber.email,
        Subscriber.status,
        Subscriber.source,
        Subscriber.created_at,
        Subscriber.confirmed_at,
        Subscriber.unsubscribed_at,
        Subscriber.secret,
    ).order_by(Subscriber.id)
    for batch in _stream(statement):
        for row in batch:
            record = dict(row._mapping)
            if not with_secrets:
                del record["secret"]
            yield record


def _readers(with_secrets: bool) -> dict[str, Callable[[], Iterator[dict[str, object]]]]:
    return {
        "settings": _settings,
        "roles": _roles,
        "users": lambda: _users(with_secrets),
        "media": _media,
        "tags": _tags,
        "posts": _posts,
        "pages": _pages,
        "redirects": _redirects,
        "comments": _comments,
        "favorites": _favorites,
        "follows": _follows,
        "subscribers": lambda: _subscribers(with_secrets),
    }


def _snapshot() -> None:
    """Read everything from one moment: a repeatable-read transaction on PostgreSQL (SQLite's
    read transaction already is one)."""
    db.session.rollback()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def export_site(
    path: Path, *, with_secrets: bool = False, progress: Progress | None = None
) -> ExportReport:
    """Trusted (the CLI and the admin's export job; no actor is checked): write the whole
    site to the zip at ``path``.

    The zip is written next to ``path`` and renamed into place when complete, so a failed
    export leaves no half file, and it is readable by its owner only (it holds email addresses,
    and password hashes with ``with_secrets``).
    """
    path = Path(path)
    report = ExportReport(path=path)
    files: dict[str, dict[str, object]] = {}
    handle, temporary = tempfile.mkstemp(prefix=".export-", suffix=".zip", dir=path.parent)
    os.close(handle)
    try:
        _snapshot()
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for kind, read in _readers(with_secrets).items():
                member = fmt.KIND_NAMED[kind].file
                with archive.open(member, "w", force_zip64=True) as stream:
                    counter = _Counter(stream)
                    for record in read():
                        counter.write(record)
                        if progress and counter.count % BATCH_SIZE == 0:
                            progress(kind, counter.count)
                if progress:
                    progress(kind, counter.count)
                files[member] = {"records": counter.count, "sha256": counter.sha256.hexdigest()}
                report.counts[kind] = counter.count
                if kind == "media":
                    _media_files(archive, report)
            manifest = {
                "format": fmt.FORMAT,
                "version": fmt.VERSION,
                "exported_at": utcnow().isoformat(),
                "with_secrets": with_secrets,
                "files": files,
            }
            archive.writestr(fmt.MANIFEST, fmt.json_text(manifest))
        db.session.rollback()  # end the read snapshot
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return report
