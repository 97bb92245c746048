"""Static pages (About, Contact ...): writing them, who sees drafts, their addresses, the
header navigation and the sitemap.

Pages live at the site's top level (``/<slug>``), so a slug must never be a path the site
already uses: :func:`reserved_slugs` reads the first segment of every route in the app's URL
map when a slug is checked, plus :data:`FUTURE_PATHS` that features to come will need.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from slugify import slugify
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from penpress.accounts.models import User
from penpress.blog.markdown import render_markdown
from penpress.blog.models import Page
from penpress.database import utcnow
from penpress.errors import Invalid, NotFound, refuse_nul
from penpress.extensions import cache, db
from penpress.permissions import Permission, holds, require
from penpress.settings import services as settings

# Who writes pages: administrators. A page speaks for the site itself (About, Contact) and
# sits in its navigation, like the site settings; editors run the posts (EDIT_ANY_POST) and
# tags (MANAGE_TAGS), not the site's own pages. A permission flag of its own is the one change
# needed to widen this.
MANAGE_PAGES = Permission.ADMIN

TITLE_MAX_LENGTH = 200
BODY_MAX_LENGTH = 100_000
SLUG_MAX_LENGTH = 100
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
NAV_ORDER_LIMIT = 1_000_000
# Top-level paths features to come will use: never a page's, even before they exist.
FUTURE_PATHS = frozenset(
    {
        "search",
        "feed",
        "feed.rss",
        "feed.atom",
        "rss",
        "atom",
        "robots.txt",
        "favicon.ico",
        "media",
        "uploads",
        "favorites",
        "tags",
        "authors",
        "users",
        "pages",
        "login",
        "logout",
        "register",
        "newsletter",
        "subscribe",
        "unsubscribe",
        "well-known",
        ".well-known",
    }
)
# The view argument of routes that serve a page: ``/<page_slug>``, and fixed paths such as
# ``/about`` registered with ``defaults={PAGE_SLUG_ARG: "about"}``. A rule that serves a page
# by a fixed slug does not reserve that slug, it serves it.
PAGE_SLUG_ARG = "page_slug"
# The navigation's cached copy, under the settings generation (``settings.cache_generation``).
NAV_CACHE_PREFIX = "nav-pages:"

ABOUT_SLUG = "about"
# What /about shows while there is no page "about" (the migration creates one with this text).
ABOUT_TITLE = "About"
ABOUT_BODY = """\
This is a self-hosted blog for several authors. Anyone can read the published posts;
members comment, follow authors and keep favorites, and writers write their posts in
Markdown and tag them.

## How it works

- **Readers** browse posts by date, by [list](/blog/), by tag and by author, and comment on
  them.
- **Contributors** write drafts and submit them for review; an editor publishes them or sends
  them back with a note.
- **Authors** keep drafts private until they publish them (or schedule them for later), and
  can edit or delete their own posts at any time.
- **Moderators** approve or remove comments; the site can hold every new comment until a
  moderator has read it.
- **Editors** review submissions, edit, publish and schedule any post, look after the tags and
  invite new members.
- **Administrators** manage accounts, roles, site settings and pages such as this one.

## Your account

[Create an account](/auth/register) to comment, or [log in](/auth/login). Once you are logged
in, change your bio, picture, time zone or password on your [profile](/auth/profile).
Changing your password or logging out ends the session on our side, so an old copy of your
login cookie is worthless.
"""


@dataclass(frozen=True)
class NavLink:
    """A page linked from the header navigation."""

    slug: str
    title: str


# --- permissions ------------------------------------------------------------------------


def may_manage_pages(user: User | None) -> bool:
    """Whether ``user`` may write, change and delete pages (and see their drafts)."""
    return holds(user, MANAGE_PAGES)


def _require_manager(actor: User | None) -> User:
    return require(actor, MANAGE_PAGES)


# --- addresses ----------------------------------------------------------------------------


def reserved_slugs() -> frozenset[str]:
    """Slugs no page may take: the first segment of every path the app routes (read from its
    URL map now, so a route added later is covered at once), and :data:`FUTURE_PATHS`."""
    taken: set[str] = set(FUTURE_PATHS)
    for rule in current_app.url_map.iter_rules():
        if rule.defaults and PAGE_SLUG_ARG in rule.defaults:
            continue  # a page's own fixed address (/about)
        first = rule.rule.lstrip("/").split("/", 1)[0]
        if first and "<" not in first:
            taken.add(first.lower())
    return frozenset(taken)


def check_slug(slug: str, exclude_id: int | None = None) -> str:
    """``slug`` if a page may have it: lower-case letters, digits and dashes, not a path the
    site uses, not another page's. :class:`Invalid` (on ``slug``) otherwise."""
    if not SLUG_PATTERN.match(slug) or len(slug) > SLUG_MAX_LENGTH:
        raise Invalid.field(
            "slug",
            f"Use lower-case letters, digits and single dashes (at most {SLUG_MAX_LENGTH}), "
            "e.g. contact-us.",
        )
    if slug in reserved_slugs():
        raise Invalid.field("slug", f"/{slug} is an address the site uses already: choose another.")
    other = select(Page.id).where(Page.slug == slug)
    if exclude_id is not None:
        other = other.where(Page.id != exclude_id)
    if db.session.scalar(other) is not None:
        raise Invalid.field("slug", f"Another page has the address /{slug}.")
    return slug


def slug_for(title: str) -> str:
    """The slug a page gets from its title when none is given."""
    return str(slugify(title, max_length=SLUG_MAX_LENGTH, word_boundary=True)) or "page"


# --- writing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fields:
    title: str | None
    body: str | None
    nav_order: int | None


def _validate(title: str | None, body: str | None, nav_order: int | None) -> _Fields:
    refuse_nul(title=title, body=body)
    errors: dict[str, list[str]] = {}
    if title is not None:
        title = " ".join(title.split())
        if not title:
            errors["title"] = ["Title is required."]
        elif len(title) > TITLE_MAX_LENGTH:
            errors["title"] = [f"Title must be at most {TITLE_MAX_LENGTH} characters."]
    if body is not None:
        if not body.strip():
            errors["body"] = ["Body is required."]
        elif len(body) > BODY_MAX_LENGTH:
            errors["body"] = [f"Body must be at most {BODY_MAX_LENGTH} characters."]
    if nav_order is not None and abs(nav_order) > NAV_ORDER_LIMIT:
        errors["nav_order"] = [f"Use a number between -{NAV_ORDER_LIMIT} and {NAV_ORDER_LIMIT}."]
    if errors:
        raise Invalid("Please correct the highlighted fields.", errors)
    return _Fields(title, body, nav_order)


def create_page(
    actor: User | None,
    *,
    title: str,
    body: str,
    slug: str | None = None,
    published: bool = False,
    show_in_nav: bool = False,
    nav_order: int = 0,
) -> Page:
    """Write a page (a draft unless ``published``); its slug comes from the title unless
    given. Those who manage pages only."""
    _require_manager(actor)
    fields = _validate(title, body, nav_order)
    assert fields.title is not None
    assert fields.body is not None
    refuse_nul(slug=slug)
    wanted = (slug or "").strip().lower() or slug_for(fields.title)
    page = Page(
        slug=check_slug(wanted),
        title=fields.title,
        body=fields.body,
        body_html=render_markdown(fields.body),
        published=published,
        show_in_nav=show_in_nav,
        nav_order=nav_order,
    )
    db.session.add(page)
    db.session.flush()
    _pages_changed()
    return page


def update_page(
    actor: User | None,
    page: Page,
    *,
    title: str | None = None,
    body: str | None = None,
    slug: str | None = None,
    published: bool | None = None,
    show_in_nav: bool | None = None,
    nav_order: int | None = None,
) -> Page:
    """Change a page; those who manage pages only. A new slug moves the page (the old address
    stops working). Everything is checked before anything changes."""
    _require_manager(actor)
    fields = _validate(title, body, nav_order)
    refuse_nul(slug=slug)
    new_slug = (slug or "").strip().lower() if slug is not None else None
    if new_slug and new_slug != page.slug:
        page.slug = check_slug(new_slug, exclude_id=page.id)
    elif slug is not None and not new_slug:
        raise Invalid.field("slug", "The address is required.")
    if fields.title is not None:
        page.title = fields.title
    if fields.body is not None and fields.body != page.body:
        page.body = fields.body
        page.body_html = render_markdown(fields.body)
    if published is not None:
        page.published = published
    if show_in_nav is not None:
        page.show_in_nav = show_in_nav
    if fields.nav_order is not None:
        page.nav_order = fields.nav_order
    page.updated_at = utcnow()
    db.session.flush()
    _pages_changed()
    return page


def delete_page(actor: User | None, page: Page) -> None:
    """Delete a page for good; those who manage pages only."""
    _require_manager(actor)
    db.session.delete(page)
    db.session.flush()
    _pages_changed()


def _pages_changed() -> None:
    """The navigation (on every page) may have changed: move the settings generation on, in
    this transaction, so every process reads the navigation afresh once it commits (each
    keeps its copy under that generation), and the page cache's site generation, so no
    anonymous page with the old navigation is served again.

    Dropping a fixed cache key here instead would leave other processes' in-memory copies in
    place, and let a request elsewhere store the old navigation again between the drop and
    the commit."""
    settings.site_shape_changed()


# --- reading ------------------------------------------------------------------------------


def get_page(viewer: User | None, slug: str) -> Page:
    """The page at ``slug``: published ones for anyone, drafts only for those who manage
    pages (404 for others, so a draft's existence does not leak)."""
    page = db.session.scalar(select(Page).where(Page.slug == slug))
    if page is None or not (page.published or may_manage_pages(viewer)):
        raise NotFound("No such page.")
    return page


def get_about_page(viewer: User | None) -> Page:
    """The page at ``/about``: the page "about" as :func:`get_page` shows it, or, while there
    is no such page (it was deleted), the built-in text, unsaved."""
    try:
        return get_page(viewer, ABOUT_SLUG)
    except NotFound:
        if db.session.scalar(select(Page.id).where(Page.slug == ABOUT_SLUG)) is not None:
            raise  # a draft About page: hidden like any draft
    now = utcnow()
    return Page(
        slug=ABOUT_SLUG,
        title=ABOUT_TITLE,
        body=ABOUT_BODY,
        body_html=render_markdown(ABOUT_BODY),
        published=True,
        show_in_nav=False,
        nav_order=0,
        created_at=now,
        updated_at=now,
    )


def get_page_to_edit(actor: User | None, page_id: int) -> Page:
    """The page with ``page_id`` for its editing form; those who manage pages only."""
    _require_manager(actor)
    page = db.session.get(Page, page_id)
    if page is None:
        raise NotFound("No such page.")
    return page


def list_pages(actor: User | None) -> list[Page]:
    """Every page, drafts included, in navigation order then by title (the admin's list)."""
    _require_manager(actor)
    return list(db.session.scalars(select(Page).order_by(Page.nav_order, Page.title, Page.id)))


def nav_pages() -> list[NavLink]:
    """Published pages shown in the header navigation, lowest ``nav_order`` first (cached
    under the settings generation, which every change to a page moves on). Empty while the
    database cannot answer, so an error page still renders."""
    try:
        generation = settings.cache_generation()
        key = None if generation is None else f"{NAV_CACHE_PREFIX}{generation}"
        cached: list[NavLink] | None = None if key is None else cache.get(key)
        if cached is not None:
            return cached
        rows = db.session.execute(
            select(Page.slug, Page.title)
            .where(Page.published.is_(True), Page.show_in_nav.is_(True))
            .order_by(Page.nav_order, Page.title, Page.id)
        ).all()
    except SQLAlchemyError:
        db.session.rollback()
        return []
    links = [NavLink(slug, title) for slug, title in rows]
    if key is not None:
        cache.set(key, links)
    return links


def published_page_stamps() -> list[tuple[str, datetime | None]]:
    """``(slug, last change)`` of every page readers see, for the sitemap: the published
    pages, and ``about`` (undated) while ``/about`` shows its built-in text."""
    rows = db.session.execute(select(Page.slug, Page.updated_at, Page.published)).all()
    stamps: list[tuple[str, datetime | None]] = [
        (slug, updated) for slug, updated, published in rows if published
    ]
    if ABOUT_SLUG not in {slug for slug, _updated, _published in rows}:
        stamps.append((ABOUT_SLUG, None))
    return sorted(stamps)
