"""Site settings: values an administrator changes at run time, over configuration defaults.

Every front door and background task reads them through these functions, which read one
cached copy of every setting (:func:`current`). The copy is memoised for the request and kept
in the cache under the *settings generation*, a counter in the database
(:mod:`penpress.counters`) that a change bumps in its own transaction: once it commits, every
process — each gunicorn worker, with or without a shared Redis — reads the new generation and
so the new values on its next request. A change also bumps the page cache's site generation,
so no anonymous page rendered with the old values is served again.

Two of them, the registration policy and the default role, may also be fixed by the
environment (``REGISTRATION``, ``DEFAULT_ROLE``): while set, those win over the database, so
a deployment (a Conduit community, say) starts the way it is configured whatever was saved.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, has_request_context, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from penpress import counters, page_cache, timezones
from penpress.audit import services as audit
from penpress.audit.services import Named
from penpress.config import REGISTRATION_POLICIES
from penpress.errors import Conflict, Invalid
from penpress.extensions import cache, db
from penpress.permissions import ROLE_NAMES, Permission, require
from penpress.settings.models import SiteSetting

SITE_TITLE = "site_title"
SITE_DESCRIPTION = "site_description"
LOGO = "logo"
FAVICON = "favicon"
ACCENT_COLOR = "accent_color"
NAV_LINKS = "nav_links"
FOOTER_TEXT = "footer_text"
POSTS_PER_PAGE = "posts_per_page"
LANGUAGE = "language"
COMMENTS_MODE = "comments_mode"
DEFAULT_TIME_ZONE = "default_time_zone"
REGISTRATION = "registration"
DEFAULT_ROLE = "default_role"
REQUIRE_CONFIRMED_EMAIL = "require_confirmed_email"
# Before comments_mode: "1" was the approval mode, "0" on (the migration converts it).
COMMENTS_REQUIRE_APPROVAL = "comments_require_approval"

GENERATION = "settings"  # the counter a change bumps
_CACHE_PREFIX = "site-settings:"
_MEMO = "penpress.site_settings"  # key in the WSGI environ: the request's copy
# ... and the generation it was read under (absent once the request changed the settings).
_GENERATION_MEMO = "penpress.site_settings.generation"

# Without a saved value.
DEFAULT_TITLE = "Penpress"
DEFAULT_LANGUAGE = "en"
DEFAULT_REGISTRATION = "open"
DEFAULT_NEW_ROLE = "reader"
# The configuration key that fixes each environment-lockable setting.
ENVIRONMENT_KEYS = {REGISTRATION: "REGISTRATION", DEFAULT_ROLE: "DEFAULT_ROLE"}

TITLE_MAX_LENGTH = 100
DESCRIPTION_MAX_LENGTH = 300
FOOTER_MAX_LENGTH = 2000
LABEL_MAX_LENGTH = 60
URL_MAX_LENGTH = 500
NAV_LINKS_MAX = 20
POSTS_PER_PAGE_MIN = 1
POSTS_PER_PAGE_MAX = 100

# on: any account that may comment does, shown at once; approval: held for a moderator;
# registered: only accounts with a confirmed email address (whatever REQUIRE_CONFIRMED_EMAIL
# says), shown at once; off: nobody comments (existing comments stay shown).
COMMENTS_ON = "on"
COMMENTS_OFF = "off"
COMMENTS_APPROVAL = "approval"
COMMENTS_REGISTERED = "registered"
COMMENTS_MODES = (COMMENTS_ON, COMMENTS_APPROVAL, COMMENTS_REGISTERED, COMMENTS_OFF)

# BCP 47, the parts a site's language uses: language (2-3 letters), optional script (4 letters),
# optional region (2 letters or 3 digits), optional variants. "en", "pt-BR", "zh-Hant-TW".
_LANGUAGE = re.compile(
    r"(?P<lang>[a-z]{2,3})(?:-(?P<script>[a-z]{4}))?(?:-(?P<region>[a-z]{2}|[0-9]{3}))?"
    r"(?P<variants>(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*)",
    re.IGNORECASE,
)
_COLOR = re.compile(r"#(?:[0-9a-f]{3}|[0-9a-f]{6})", re.IGNORECASE)
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# A stored upload's file name (media names them; the settings only keep the name).
_FILE_NAME = re.compile(r"[0-9a-z][0-9a-z._-]{0,63}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class NavLink:
    """One navigation link: its text and where it goes — ``page:<slug>``, ``tag:<slug>``, a
    path on this site (``/blog/``) or an http(s) URL."""

    label: str
    target: str

    @property
    def kind(self) -> str:
        """``page``, ``tag``, ``path`` or ``url``."""
        if self.target.startswith("page:"):
            return "page"
        if self.target.startswith("tag:"):
            return "tag"
        return "path" if self.target.startswith("/") else "url"

    @property
    def slug(self) -> str:
        return self.target.partition(":")[2]

    def href(self) -> str:
        """Where the link goes, as a page of the site (a page or tag) or the URL given."""
        if self.kind == "page":  # static pages live at /<slug>
            return url_for("main.index") + self.slug
        if self.kind == "tag":
            return url_for("blog.tag", slug=self.slug)
        return self.target


@dataclass(frozen=True)
class Identity:
    """What every page shows of the site: its name, look and navigation."""

    title: str
    description: str
    logo: str | None
    favicon: str | None
    accent_color: str | None
    style_version: str
    nav_links: tuple[NavLink, ...]
    footer_text: str
    language: str


# --- reading ---------------------------------------------------------------------------------


def current() -> dict[str, str]:
    """Every saved setting (key → stored text): read once per request (outside one — a job,
    the shell — once per app context) from the cache under the settings generation, else
    from the database.

    The generation is read in the session's own transaction, so it and the rows it keys agree.
    """
    memo = _memo()
    found: dict[str, str] | None = memo.get(_MEMO)
    if found is None:
        generation = counters.values([GENERATION])[GENERATION]
        key = f"{_CACHE_PREFIX}{generation}"
        found = cache.get(key)
        if found is None:
            found = _from_database()
            cache.set(key, found)
        memo[_MEMO] = found
        memo[_GENERATION_MEMO] = generation
    return found


def _memo() -> dict[str, Any]:
    return request.environ if has_request_context() else g.__dict__


def cache_generation() -> int | None:
    """The settings generation this request reads under, for caches of what every page shows
    beside the settings (the navigation's pages) to key their entries by, as the settings'
    own copy is: once a change commits, every process on every machine reads the new number
    and so misses the old entries, whether or not they share a cache. ``None`` once this
    request changed them: the new number is not committed (a rollback would give it to
    another change), so nothing may be stored under it."""
    current()
    generation: int | None = _memo().get(_GENERATION_MEMO)
    return generation


def site_shape_changed() -> None:
    """Trusted (a service, after its own checks): something every page shows beside the
    settings changed (a page joined or left the navigation). Bump the settings generation,
    in this transaction, as a settings change does, and the page cache's site generation;
    the rest of this request keeps reading the settings it has, and caches nothing."""
    memo = _memo()
    memo[_MEMO] = current()
    memo.pop(_GENERATION_MEMO, None)
    if has_request_context():
        g.__dict__.pop(_GENERATION_MEMO, None)  # a test's app context around the request
    counters.add(GENERATION)
    page_cache.site_changed()


def _from_database() -> dict[str, str]:
    return {s.key: s.value for s in db.session.scalars(select(SiteSetting))}


def site_title() -> str:
    """The site's name, shown in the header, page titles, feeds, emails and the API."""
    return current().get(SITE_TITLE) or DEFAULT_TITLE


def site_description() -> str:
    """The tagline: under the name in the header, in feeds, OpenGraph tags and the API."""
    return current().get(SITE_DESCRIPTION, "")


def logo() -> str | None:
    """The stored file name of the uploaded logo, if any."""
    return current().get(LOGO) or None


def favicon() -> str | None:
    """The stored file name of the uploaded favicon, if any (else the built-in one)."""
    return current().get(FAVICON) or None


def accent_color() -> str | None:
    """The accent colour as ``#rrggbb``, if the site chose one (else the stylesheet's)."""
    return current().get(ACCENT_COLOR) or None


def style_version() -> str:
    """Changes whenever the generated stylesheet does: its URL's cache-busting part."""
    return hashlib.sha256((accent_color() or "").encode()).hexdigest()[:12]


def nav_links() -> tuple[NavLink, ...]:
    """The navigation links an administrator added, in their order."""
    stored = current().get(NAV_LINKS)
    if not stored:
        return ()
    try:
        return tuple(
            NavLink(str(item["label"]), str(item["target"])) for item in json.loads(stored)
        )
    except (ValueError, KeyError, TypeError):
        return ()  # never saved by this code: show none rather than fail every page


def nav_links_text(links: tuple[NavLink, ...]) -> str:
    """The links as the settings form edits them: ``Label | target``, one a line."""
    return "\n".join(f"{link.label} | {link.target}" for link in links)


def footer_text() -> str:
    """The footer's Markdown source (rendered and sanitised like posts)."""
    return current().get(FOOTER_TEXT, "")


def posts_per_page() -> int:
    """How many posts a page of posts lists (site setting, else ``POSTS_PER_PAGE``)."""
    value = current().get(POSTS_PER_PAGE)
    if value and value.isdigit() and POSTS_PER_PAGE_MIN <= int(value) <= POSTS_PER_PAGE_MAX:
        return int(value)
    return int(current_app.config["POSTS_PER_PAGE"])


def language() -> str:
    """The site's language as a BCP 47 tag, for ``<html lang>`` and the feeds."""
    return current().get(LANGUAGE) or DEFAULT_LANGUAGE


def comments_mode() -> str:
    """Who may comment and whether comments wait: one of :data:`COMMENTS_MODES` (site
    setting, else ``approval`` or ``on`` as ``COMMENTS_REQUIRE_APPROVAL`` says)."""
    value = current().get(COMMENTS_MODE)
    if value in COMMENTS_MODES:
        return value
    return COMMENTS_APPROVAL if current_app.config["COMMENTS_REQUIRE_APPROVAL"] else COMMENTS_ON


def comments_require_approval() -> bool:
    """Whether new comments wait for a moderator (the ``approval`` comments mode)."""
    return comments_mode() == COMMENTS_APPROVAL


def email_confirmation_required() -> bool:
    """Whether an account must confirm its address before it publishes, submits a post for
    review or comments (site setting, else ``REQUIRE_CONFIRMED_EMAIL``)."""
    return _flag(REQUIRE_CONFIRMED_EMAIL, "REQUIRE_CONFIRMED_EMAIL")


def registration_policy() -> str:
    """Who may join: ``open``, ``approval``, ``invite`` or ``closed`` (the environment's
    ``REGISTRATION`` while set, else the site setting, else open)."""
    return _choice(REGISTRATION, REGISTRATION_POLICIES, DEFAULT_REGISTRATION)


def default_role() -> str:
    """The role of a new self-registered account (``DEFAULT_ROLE`` while set, else the site
    setting, else reader)."""
    return _choice(DEFAULT_ROLE, ROLE_NAMES, DEFAULT_NEW_ROLE)


def identity() -> Identity:
    """What every page shows of the site."""
    return Identity(
        title=site_title(),
        description=site_description(),
        logo=logo(),
        favicon=favicon(),
        accent_color=accent_color(),
        style_version=style_version(),
        nav_links=nav_links(),
        footer_text=footer_text(),
        language=language(),
    )


def locked_by_environment() -> dict[str, str]:
    """The settings an environment variable fixes right now, with the variable's name."""
    return {
        key: config_key
        for key, config_key in ENVIRONMENT_KEYS.items()
        if current_app.config.get(config_key)
    }


def default_time_zone() -> str:
    """The IANA zone in which people without a preference of their own type and read times
    (site setting, else UTC)."""
    value = current().get(DEFAULT_TIME_ZONE)
    return value if value and timezones.is_known(value) else timezones.UTC_NAME


def editable_settings(actor: Named | None) -> dict[str, Any]:
    """The current value of every setting an administrator edits (administrators only)."""
    require(actor, Permission.ADMIN)
    return _current()


def _current() -> dict[str, Any]:
    return {
        SITE_TITLE: site_title(),
        SITE_DESCRIPTION: site_description(),
        LOGO: logo(),
        FAVICON: favicon(),
        ACCENT_COLOR: accent_color() or "",
        NAV_LINKS: nav_links_text(nav_links()),
        FOOTER_TEXT: footer_text(),
        POSTS_PER_PAGE: posts_per_page(),
        LANGUAGE: language(),
        COMMENTS_MODE: comments_mode(),
        DEFAULT_TIME_ZONE: default_time_zone(),
        REQUIRE_CONFIRMED_EMAIL: email_confirmation_required(),
        REGISTRATION: registration_policy(),
        DEFAULT_ROLE: default_role(),
    }


# --- changing --------------------------------------------------------------------------------


def check_settings(changes: Mapping[str, Any]) -> dict[str, str]:
    """``changes`` checked and as they would be stored; :class:`Invalid` naming every refused
    field. Checks values only (anyone may ask): :func:`update_settings` saves them."""
    cleaned: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for key, value in changes.items():
        check = _CHECKS.get(key)
        if check is None:
            errors.setdefault(key, []).append("No such setting.")
            continue
        try:
            cleaned[key] = check(value)
        except Invalid as refused:
            for name, messages in refused.details.items():
                errors.setdefault(name, []).extend(messages)
    if errors:
        raise Invalid("Please correct the highlighted settings.", errors)
    return cleaned


def update_settings(actor: Named | None, changes: Mapping[str, Any]) -> None:
    """Change any of the settings at once (administrators): every value is checked first, and
    if any is refused nothing is saved (422 naming each refused field; 409 for a value an
    environment variable fixes). Every worker sees the change once it commits.

    Keys are the names above; values as the form sends them: text, ``bool`` for the
    confirmation rule, ``int`` (or digits) for the posts per page, ``None`` or ``""`` to clear
    the logo or favicon (whose values are stored upload names: the admin view uploads first).
    """
    admin = require(actor, Permission.ADMIN)
    cleaned = check_settings(changes)
    for key in ENVIRONMENT_KEYS:
        locked = locked_by_environment().get(key)
        if key in cleaned and locked and cleaned[key] != current_app.config[locked]:
            raise Conflict(
                f"The {locked} environment variable sets this; change or unset it and restart.",
                {key: [f"Set by the {locked} environment variable."]},
            )
    _save(admin, cleaned)


def set_comments_mode(actor: Named | None, mode: str) -> None:
    """Choose who may comment and whether comments wait (administrators)."""
    update_settings(actor, {COMMENTS_MODE: mode})


def set_comments_require_approval(actor: Named | None, required: bool) -> None:
    """Switch comment moderation on or off (administrators): the ``approval`` or ``on``
    comments mode."""
    update_settings(actor, {COMMENTS_MODE: COMMENTS_APPROVAL if required else COMMENTS_ON})


def set_default_time_zone(actor: Named | None, name: str) -> None:
    """Choose the site's default time zone, an IANA name such as ``Europe/Paris``
    (administrators)."""
    update_settings(actor, {DEFAULT_TIME_ZONE: name})


def set_email_confirmation_required(actor: Named | None, required: bool) -> None:
    """Switch the confirmed-address rule for publishing and commenting (administrators)."""
    update_settings(actor, {REQUIRE_CONFIRMED_EMAIL: required})


def set_registration_policy(actor: Named | None, policy: str) -> None:
    """Choose who may join (administrators); 409 while ``REGISTRATION`` fixes it."""
    update_settings(actor, {REGISTRATION: policy})


def set_default_role(actor: Named | None, role: str) -> None:
    """Choose the role of new self-registered accounts (administrators); 409 while
    ``DEFAULT_ROLE`` fixes it."""
    update_settings(actor, {DEFAULT_ROLE: role})


def default_identity() -> Identity:
    """The site as it is with nothing saved (error pages when the database is down)."""
    return Identity(
        title=DEFAULT_TITLE,
        description="",
        logo=None,
        favicon=None,
        accent_color=None,
        style_version="",
        nav_links=(),
        footer_text="",
        language=DEFAULT_LANGUAGE,
    )


def template_context() -> dict[str, Any]:
    """What every page's templates (and emails) may use of the settings; the defaults when
    the database cannot be read, so the error page saying so still renders."""
    try:
        site = identity()
        zone = default_time_zone()
    except SQLAlchemyError:
        db.session.rollback()
        site, zone = default_identity(), timezones.UTC_NAME
    # Dates on pages are the days they are in the site's zone (``templating.format_date``).
    return {"site_name": site.title, "site": site, "site_time_zone": zone}


# --- checking values -------------------------------------------------------------------------


def _text(value: Any, key: str, max_length: int, *, required: bool = False) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").strip()
    if "\x00" in text:
        raise Invalid.field(key, "Remove the NUL character.")
    if required and not text:
        raise Invalid.field(key, "This cannot be empty.")
    if len(text) > max_length:
        raise Invalid.field(key, f"Use at most {max_length} characters.")
    return text


def _one_line(value: Any, key: str, max_length: int, *, required: bool = False) -> str:
    text = _text(value, key, max_length, required=required)
    if _CONTROL.search(text) or "\n" in text:
        raise Invalid.field(key, "Use one line of text, without control characters.")
    return text


def _check_title(value: Any) -> str:
    return _one_line(value, SITE_TITLE, TITLE_MAX_LENGTH, required=True)


def _check_description(value: Any) -> str:
    return _one_line(value, SITE_DESCRIPTION, DESCRIPTION_MAX_LENGTH)


def _check_file(key: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        name = "" if value is None else str(value)
        if name and not _FILE_NAME.fullmatch(name):
            raise Invalid.field(key, "Upload an image.")
        return name

    return check


def _check_color(value: Any) -> str:
    """``#rrggbb`` (lower case; ``#rgb`` is spelt out), or empty for the built-in colour."""
    text = _one_line(value, ACCENT_COLOR, 7)
    if not text:
        return ""
    if not _COLOR.fullmatch(text):
        raise Invalid.field(ACCENT_COLOR, "Give a colour as #rrggbb, e.g. #2b59c3.")
    digits = text[1:].lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return f"#{digits}"


def _check_nav_links(value: Any) -> str:
    """The form's ``Label | target`` lines (or a list of :class:`NavLink`) as stored JSON."""
    if isinstance(value, (list, tuple)):
        lines = [f"{link.label} | {link.target}" for link in value]
    else:
        text = _text(value, NAV_LINKS, NAV_LINKS_MAX * (LABEL_MAX_LENGTH + URL_MAX_LENGTH + 3))
        lines = [line for line in text.split("\n") if line.strip()]
    if len(lines) > NAV_LINKS_MAX:
        raise Invalid.field(NAV_LINKS, f"Add at most {NAV_LINKS_MAX} links.")
    links = []
    for number, line in enumerate(lines, start=1):
        label, bar, target = (part.strip() for part in line.rpartition("|"))
        if not bar or not label or not target:
            raise Invalid.field(
                NAV_LINKS, f"Line {number}: write “Label | target”, e.g. “News | tag:news”."
            )
        if len(label) > LABEL_MAX_LENGTH or _CONTROL.search(label):
            raise Invalid.field(
                NAV_LINKS, f"Line {number}: a label of at most {LABEL_MAX_LENGTH} characters."
            )
        links.append({"label": label, "target": _check_target(target, number)})
    return json.dumps(links, ensure_ascii=False) if links else ""


def _check_target(target: str, number: int) -> str:
    kind, colon, rest = target.partition(":")
    if colon and kind.lower() in ("page", "tag"):
        if not _SLUG.fullmatch(rest.strip()):
            raise Invalid.field(
                NAV_LINKS, f"Line {number}: a {kind.lower()}'s address, e.g. {kind.lower()}:news."
            )
        return f"{kind.lower()}:{rest.strip()}"
    lowered = target.lower()
    if (
        len(target) > URL_MAX_LENGTH
        or any(char.isspace() or not char.isprintable() for char in target)
        or not (
            lowered.startswith(("https://", "http://"))
            and len(target.split("/", 3)[2] if target.count("/") >= 2 else "") > 0
            or (target.startswith("/") and not target.startswith("//"))
        )
    ):
        raise Invalid.field(
            NAV_LINKS,
            f"Line {number}: link to page:<address>, tag:<address>, a path such as /blog/ or "
            f"an http(s) URL of at most {URL_MAX_LENGTH} characters.",
        )
    return target


def _check_footer(value: Any) -> str:
    return _text(value, FOOTER_TEXT, FOOTER_MAX_LENGTH)


def _check_posts_per_page(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    if not text.isdigit() or not POSTS_PER_PAGE_MIN <= int(text) <= POSTS_PER_PAGE_MAX:
        raise Invalid.field(
            POSTS_PER_PAGE,
            f"Give a whole number from {POSTS_PER_PAGE_MIN} to {POSTS_PER_PAGE_MAX}.",
        )
    return str(int(text))


def _check_language(value: Any) -> str:
    """A BCP 47 tag in its usual case (``pt-BR``, ``zh-Hant-TW``)."""
    text = _one_line(value, LANGUAGE, 35)
    match = _LANGUAGE.fullmatch(text)
    if match is None:
        raise Invalid.field(LANGUAGE, "Give a language tag such as en, fr, pt-BR or zh-Hant-TW.")
    parts = [match["lang"].lower()]
    if match["script"]:
        parts.append(match["script"].title())
    if match["region"]:
        parts.append(match["region"].upper())
    return "-".join(parts) + match["variants"].lower()


def _check_choice(key: str, choices: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise Invalid.field(key, f"Choose one of: {', '.join(choices)}.")
        return str(value)

    return check


def _check_flag(value: Any) -> str:
    return "1" if value else "0"


_CHECKS: dict[str, Callable[[Any], str]] = {
    SITE_TITLE: _check_title,
    SITE_DESCRIPTION: _check_description,
    LOGO: _check_file(LOGO),
    FAVICON: _check_file(FAVICON),
    ACCENT_COLOR: _check_color,
    NAV_LINKS: _check_nav_links,
    FOOTER_TEXT: _check_footer,
    POSTS_PER_PAGE: _check_posts_per_page,
    LANGUAGE: _check_language,
    COMMENTS_MODE: _check_choice(COMMENTS_MODE, COMMENTS_MODES),
    DEFAULT_TIME_ZONE: lambda name: timezones.check_zone(name, field=DEFAULT_TIME_ZONE),
    REQUIRE_CONFIRMED_EMAIL: _check_flag,
    REGISTRATION: _check_choice(REGISTRATION, REGISTRATION_POLICIES),
    DEFAULT_ROLE: _check_choice(DEFAULT_ROLE, ROLE_NAMES),
}


def _flag(key: str, config_key: str) -> bool:
    value = current().get(key)
    if value is None:
        return bool(current_app.config[config_key])
    return value == "1"


def _choice(key: str, choices: tuple[str, ...], default: str) -> str:
    fixed = current_app.config.get(ENVIRONMENT_KEYS[key])
    if fixed:
        return str(fixed)  # validated when the app started
    value = current().get(key)
    return value if value in choices else default


def _save(actor: Named, values: Mapping[str, str]) -> None:
    """Write checked values; bump the settings and page generations in the same transaction,
    and let the rest of this request read what it just saved. The audit log gets each value
    in effect that changed (not a save that changed nothing)."""
    if not values:
        return
    before = _current()
    for key, value in values.items():
        setting = db.session.get(SiteSetting, key)
        if setting is None:
            db.session.add(SiteSetting(key=key, value=value))
        else:
            setting.value = value
    db.session.flush()
    counters.add(GENERATION)
    page_cache.site_changed()
    # The rest of this request (or app context) reads what it saved, never the cache: the
    # new generation's entry is written by the first reader after the commit.
    fresh = _from_database()
    if has_request_context():
        request.environ[_MEMO] = fresh
        request.environ.pop(_GENERATION_MEMO, None)
        g.__dict__.pop(_MEMO, None)  # a test's app context around the request
        g.__dict__.pop(_GENERATION_MEMO, None)
    else:
        g.__dict__[_MEMO] = fresh
        g.__dict__.pop(_GENERATION_MEMO, None)
    after = _current()
    for key in values:
        if before.get(key) != after.get(key):
            subject = audit.Subject("setting", key, key)
            audit.record(actor, "setting.change", subject, changes={key: (before[key], after[key])})
