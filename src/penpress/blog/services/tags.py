"""Tags: parsing names, finding or creating them, counting their published posts, and
renaming or deleting them (editors and admins)."""

from __future__ import annotations

from collections.abc import Iterable

from flask_sqlalchemy.pagination import Pagination
from slugify import slugify
from sqlalchemy import Insert, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from penpress import page_cache
from penpress.accounts.models import User
from penpress.audit import services as audit
from penpress.blog import search
from penpress.blog.models import Tag, post_tags
from penpress.database import paginate
from penpress.errors import Conflict, Invalid, NotFound, refuse_nul
from penpress.extensions import cache, db
from penpress.permissions import Permission, require

TAG_MAX_LENGTH = 64
TAG_SLUG_MAX_LENGTH = 80  # the column's size
MAX_TAGS_PER_POST = 20
TAG_COUNTS_CACHE_KEY = "tag-counts"


def tag_slug(name: str) -> str:
    """The URL slug of a tag name; names with the same slug are the same tag."""
    return str(slugify(name, max_length=TAG_SLUG_MAX_LENGTH))


def parse_tag_names(text: str) -> list[str]:
    """Comma-separated names from a form field, as a list."""
    return [name for name in (part.strip() for part in text.split(",")) if name]


def clean_tag_names(names: Iterable[str]) -> list[str]:
    """Trimmed, de-duplicated (case-insensitively), validated tag names in their given order."""
    cleaned: dict[str, str] = {}
    for raw in names:
        name = " ".join(str(raw).split())
        if not name:
            continue
        refuse_nul(tags=name)
        if len(name) > TAG_MAX_LENGTH:
            raise Invalid.field("tags", f"Tags must be at most {TAG_MAX_LENGTH} characters.")
        if not tag_slug(name):
            raise Invalid.field("tags", f"Tag {name!r} needs at least one letter or digit.")
        cleaned.setdefault(name.lower(), name)
    if len(cleaned) > MAX_TAGS_PER_POST:
        raise Invalid.field("tags", f"A post can have at most {MAX_TAGS_PER_POST} tags.")
    return list(cleaned.values())


def tag_order(name: str) -> tuple[str, str]:
    """How a post's tags are ordered: by name ignoring case (as ``Post.tags`` loads them)."""
    return name.lower(), name


def resolve_tags(names: Iterable[str]) -> list[Tag]:
    """The tags with these names, created when new; matched case-insensitively by slug.

    Sorted by :func:`tag_order`, the order ``Post.tags`` loads in, so a post just written lists
    its tags the same way as one read back (Conduit's ``tagList`` depends on it).
    """
    wanted = {tag_slug(name): name for name in clean_tag_names(names)}
    if not wanted:
        return []
    by_slug = select(Tag).where(Tag.slug.in_(wanted))
    existing = {tag.slug: tag for tag in db.session.scalars(by_slug)}
    missing = [{"name": n, "slug": slug} for slug, n in wanted.items() if slug not in existing]
    if missing:
        # Two posts may bring the same new tag at the same instant: a plain INSERT would fail
        # the later one on the unique slug or name. This one skips a tag that is there by then
        # (on PostgreSQL it waits for the other transaction to end first), and the tags are
        # read back, so both posts are saved with one tag.
        db.session.execute(_insert_missing_tags().values(missing))
        existing = {tag.slug: tag for tag in db.session.scalars(by_slug)}
        # A tag skipped for its name alone has another slug (given by an import): that is it.
        unmatched = [wanted[slug] for slug in wanted if slug not in existing]
        if unmatched:
            by_name = select(Tag).where(Tag.name.in_(unmatched))
            existing.update({tag.slug: tag for tag in db.session.scalars(by_name)})
    tags = sorted(existing.values(), key=lambda tag: tag_order(tag.name))
    cache.delete(TAG_COUNTS_CACHE_KEY)
    return tags


def _insert_missing_tags() -> Insert:
    """``INSERT INTO tags ... ON CONFLICT DO NOTHING`` in the database's own dialect.

    Without a conflict target: a tag has two unique columns (slug and name), and naming only
    one let PostgreSQL fail the racing insert on the other (found by the tag race test).
    """
    dialect = db.session.get_bind(mapper=Tag).dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(Tag).on_conflict_do_nothing()


def get_tag(slug: str) -> Tag:
    tag = db.session.scalar(select(Tag).where(Tag.slug == slug))
    if tag is None:
        raise NotFound("No such tag.")
    return tag


def tags_with_counts() -> list[tuple[str, str, int]]:
    """``(name, slug, published post count)`` for every tag in use, most used first."""
    cached: list[tuple[str, str, int]] | None = cache.get(TAG_COUNTS_CACHE_KEY)
    if cached is not None:
        return cached
    # Counted by the services as posts go live (Tag.post_count; a scheduled post when the
    # went-live step marks it, which drops this cache): no join, no count.
    stmt = (
        select(Tag.name, Tag.slug, Tag.post_count)
        .where(Tag.post_count > 0)
        .order_by(Tag.post_count.desc(), Tag.name)
    )
    result = [(name, slug, int(n)) for name, slug, n in db.session.execute(stmt)]
    cache.set(TAG_COUNTS_CACHE_KEY, result)
    return result


def invalidate_tag_counts() -> None:
    """Drop the cached counts: a post was written, changed or deleted."""
    cache.delete(TAG_COUNTS_CACHE_KEY)


# --- managing tags (MANAGE_TAGS) ----------------------------------------------------------


def manage_tags(actor: User | None, page: int = 1, per_page: int = 50) -> Pagination:
    """A page of every tag, used or not, by name (editors); each carries its published posts'
    count (``Tag.post_count``, kept by the services), so one query whatever the page's size."""
    require(actor, Permission.MANAGE_TAGS)
    return paginate(select(Tag).order_by(func.lower(Tag.name), Tag.id), page, per_page)


def rename_tag(actor: User | None, slug: str, name: str) -> Tag:
    """Give a tag another name (and the slug that goes with it) on every post that has it
    (editors). 409 if another tag already has that slug."""
    editor = require(actor, Permission.MANAGE_TAGS)
    tag = get_tag(slug)
    cleaned = clean_tag_names([name])
    if not cleaned:
        raise Invalid.field("name", "A tag needs a name.")
    new_name = cleaned[0]
    new_slug = tag_slug(new_name)
    clash = db.session.scalar(select(Tag.id).where(Tag.slug == new_slug, Tag.id != tag.id))
    if clash is not None:
        raise Conflict(
            "Another tag already has that name.", {"name": ["Another tag already has that name."]}
        )
    before = {"name": tag.name, "slug": tag.slug}
    tag.name = new_name
    tag.slug = new_slug
    db.session.flush()
    search.retag(tag.id)
    changes = audit.changed(before, {"name": new_name, "slug": new_slug})
    if changes:
        audit.record(editor, "tag.rename", audit.Subject("tag", tag.id, new_name), changes=changes)
    invalidate_tag_counts()
    page_cache.site_changed()  # posts, lists and tag pages show the new name
    return tag


def merge_tags(actor: User | None, slug: str, into: str) -> Tag:
    """Merge the tag ``slug`` into the tag ``into`` (editors): every post that had the first
    has the second (posts keep their other tags), and the first is deleted. 422 for merging a
    tag into itself."""
    editor = require(actor, Permission.MANAGE_TAGS)
    source = get_tag(slug)
    target = get_tag(tag_slug(into))
    if source.id == target.id:
        raise Invalid.field("into", "Choose another tag to merge into.")
    post_ids = db.session.scalars(
        select(post_tags.c.post_id)
        .where(post_tags.c.tag_id == source.id)
        .order_by(post_tags.c.post_id)
    ).all()
    audit.record(
        editor,
        "tag.merge",
        audit.Subject("tag", source.id, source.name),
        details={"into": target.name, "into_id": target.id, "post_ids": list(post_ids)},
    )
    has_target = select(post_tags.c.post_id).where(post_tags.c.tag_id == target.id)
    db.session.execute(
        update(post_tags)
        .where(post_tags.c.tag_id == source.id, post_tags.c.post_id.not_in(has_target))
        .values(tag_id=target.id)
    )
    db.session.execute(post_tags.delete().where(post_tags.c.tag_id == source.id))
    db.session.delete(source)
    db.session.flush()
    search.retag(target.id)  # its posts' indexed tag names: the source's name is gone
    # The merged tag's counter: its published posts, counted once here.
    target.post_count = (
        db.session.scalar(
            select(func.count()).where(
                post_tags.c.tag_id == target.id, post_tags.c.published.is_(True)
            )
        )
        or 0
    )
    db.session.flush()
    invalidate_tag_counts()
    page_cache.site_changed()
    return target


def delete_tag(actor: User | None, slug: str) -> None:
    """Remove a tag from every post and delete it (editors); the posts stay."""
    editor = require(actor, Permission.MANAGE_TAGS)
    tag = get_tag(slug)
    post_ids = db.session.scalars(
        select(post_tags.c.post_id)
        .where(post_tags.c.tag_id == tag.id)
        .order_by(post_tags.c.post_id)
    ).all()
    audit.record(
        editor,
        "tag.delete",
        audit.Subject("tag", tag.id, tag.name),
        details={"slug": tag.slug, "post_ids": list(post_ids)},
    )
    search.retag(tag.id, without=True)
    db.session.execute(post_tags.delete().where(post_tags.c.tag_id == tag.id))
    db.session.delete(tag)
    db.session.flush()
    invalidate_tag_counts()
    page_cache.site_changed()
