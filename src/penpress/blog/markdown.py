"""Markdown to safe HTML, done once when a post is saved.

The renderer speaks what writers coming from Ghost expect (GitHub-flavoured Markdown:
tables with alignment, ~~strikethrough~~, task lists, footnotes, bare URLs as links, heading
anchors and highlighted code); the sanitizer then keeps only the markup and attributes those
features produce, and links that leave the site get ``rel="nofollow"``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import nh3
from flask import current_app, has_app_context
from linkify_it import LinkifyIt
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin
from slugify import slugify

from penpress.blog import highlight
from penpress.blog.links import Attrs, SiteHost, add_external_rel, rewrite_start_tags
from penpress.media import services as media_services
from penpress.media import urls as media_urls

WORDS_PER_MINUTE = 230
# How wide a post's images are drawn (the page's column, at most 72rem): for ``sizes``.
POST_IMAGE_SIZES = "(max-width: 72rem) 100vw, 72rem"

# Ids the renderer gives headings and footnotes. Nothing else may carry an id, so a post
# cannot clobber the page's own ids ("comments", "main"...) nor shadow them for scripts.
HEADING_ID_PREFIX = "h-"
FOOTNOTE_ID_PREFIX = "fn-"
FOOTNOTE_REF_ID_PREFIX = "fnref-"
_ALLOWED_ID = re.compile(r"(?:h|fn|fnref)-[a-z0-9]+(?:-[a-z0-9]+)*")
_HEADING_ANCHOR_CLASS = "heading-anchor"


def _heading_slug(title: str) -> str:
    """``h-`` and the title as an ASCII slug, as post addresses are made ("h-privet-mir")."""
    return HEADING_ID_PREFIX + (slugify(title) or "section")


def _table_align(state: StateCore) -> None:
    """Table alignment as ``align="..."``: the Content-Security-Policy forbids ``style``."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and token.attrs.get("style"):
            style = str(token.attrs.pop("style"))  # "text-align:left"
            token.attrSet("align", style.partition(":")[2].strip())


def _heading_anchor_class(state: StateCore) -> None:
    """Our class and a spoken name for the anchors plugin's permalinks (it has no option)."""
    for token in state.tokens:
        for child in token.children or ():
            if child.type == "link_open" and child.attrs.get("class") == "header-anchor":
                child.attrSet("class", _HEADING_ANCHOR_CLASS)
                child.attrSet("aria-label", "Link to this section")


def _footnote_number(token: Token) -> str:
    return str(token.meta["id"] + 1)


def _footnote_ref_id(token: Token) -> str:
    sub_id = token.meta.get("subId", 0)
    suffix = f"-{sub_id + 1}" if sub_id > 0 else ""
    return f"{FOOTNOTE_REF_ID_PREFIX}{_footnote_number(token)}{suffix}"


def _render_footnote_ref(
    self: object, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    number = _footnote_number(token)
    return (
        f'<sup class="footnote-ref"><a href="#{FOOTNOTE_ID_PREFIX}{number}" '
        f'id="{_footnote_ref_id(token)}">{number}</a></sup>'
    )


def _render_footnote_open(
    self: object, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return f'<li id="{FOOTNOTE_ID_PREFIX}{_footnote_number(tokens[idx])}" class="footnote-item">'


def _render_footnote_anchor(
    self: object, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return f' <a href="#{_footnote_ref_id(tokens[idx])}" class="footnote-backref">\u21a9\ufe0e</a>'


def _build_parser() -> MarkdownIt:
    md = MarkdownIt(
        "gfm-like",
        {"html": True, "highlight": highlight.highlight_fence},
    )
    # Bare URLs only with their scheme: "readme.md" or "script.py" are not links.
    md.linkify = LinkifyIt(options={"fuzzy_link": False, "fuzzy_ip": False})
    md.use(footnote_plugin)
    # Disabled checkboxes, each inside a <label> with its item's text for screen readers.
    md.use(tasklists_plugin, enabled=False, label=True)
    md.use(
        anchors_plugin,
        min_level=2,
        max_level=4,
        slug_func=_heading_slug,
        permalink=True,
        permalinkSymbol="#",
    )
    md.core.ruler.push("table_align", _table_align)
    md.add_render_rule("footnote_ref", _render_footnote_ref)
    md.add_render_rule("footnote_open", _render_footnote_open)
    md.add_render_rule("footnote_anchor", _render_footnote_anchor)
    md.core.ruler.push("heading_anchor_class", _heading_anchor_class)
    return md


_markdown = _build_parser()

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "details", "em", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "input", "kbd", "label", "li", "ol", "p", "pre", "s",
    "section", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "th", "thead",
    "tr", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "id", "aria-label"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
    "li": {"id"},
}
_ALIGN = {"align": {"left", "center", "right"}}
_ALLOWED_ATTRIBUTE_VALUES = {
    "th": _ALIGN,
    "td": _ALIGN,
    "input": {"type": {"checkbox"}, "checked": {"", "checked"}, "disabled": {"", "disabled"}},
}
# Any <input> that survives is a disabled checkbox, whatever the author wrote.
_FORCED_ATTRIBUTE_VALUES = {"input": {"type": "checkbox", "disabled": ""}}
_ALLOWED_CLASSES = {
    "a": {"footnote-backref", _HEADING_ANCHOR_CLASS},
    "code": set(highlight.language_classes()),
    "hr": {"footnotes-sep"},
    "input": {"task-list-item-checkbox"},
    "li": {"task-list-item", "footnote-item"},
    "ol": {"footnotes-list", "contains-task-list"},
    "pre": {highlight.BLOCK_CLASS},
    "section": {"footnotes"},
    "span": set(highlight.token_classes()),
    "sup": {"footnote-ref"},
    "ul": {"contains-task-list"},
}


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Drop every ``id`` the renderer would not have made (see ``_ALLOWED_ID``)."""
    if attribute == "id" and not _ALLOWED_ID.fullmatch(value):
        return None
    return value


_cleaner = nh3.Cleaner(
    tags=_ALLOWED_TAGS,
    attributes=_ALLOWED_ATTRIBUTES,
    tag_attribute_values=_ALLOWED_ATTRIBUTE_VALUES,
    set_tag_attribute_values=_FORCED_ATTRIBUTE_VALUES,
    allowed_classes=_ALLOWED_CLASSES,
    attribute_filter=_filter_attribute,
    url_schemes={"http", "https", "mailto"},
    link_rel=None,
)


def _configured_site() -> SiteHost | None:
    if not has_app_context():
        return None
    return SiteHost.from_url(current_app.config.get("SITE_URL"))


def render_markdown(text: str, *, site_url: str | None = None) -> str:
    """Render Markdown and keep only harmless HTML: no scripts, handlers or javascript: URLs.

    Links to other sites get ``rel="nofollow"``; links that stay on the site (relative ones,
    fragments, and absolute ones on the host of ``site_url``, by default the app's
    ``SITE_URL``) get none. The ``rel`` is decided on the sanitized HTML, so raw ``<a>`` tags
    in the Markdown are treated like Markdown links.
    """
    site = SiteHost.from_url(site_url) if site_url else _configured_site()
    html = add_external_rel(_cleaner.clean(_markdown.render(text)), site)
    return _responsive_images(html) if has_app_context() else html


_IMAGE_ATTRIBUTES = frozenset({"srcset", "sizes", "loading", "decoding"})


def _responsive_images(html: str) -> str:
    """Images uploaded to this site get their resized copies (``srcset``), their size (the
    page keeps its place while they load) and lazy loading; one query for all of them."""
    if "<img" not in html:
        return html
    wanted: list[str] = []

    def collect(tag: str, attrs: Attrs) -> None:
        name = media_urls.name_from_url(dict(attrs).get("src") or "") if tag == "img" else None
        if name is not None:
            wanted.append(name)

    rewrite_start_tags(html, collect)
    if not wanted:
        return html
    found = media_services.find_by_names(wanted)

    def sized(tag: str, attrs: Attrs) -> Attrs | None:
        values = dict(attrs)
        name = media_urls.name_from_url(values.get("src") or "") if tag == "img" else None
        media = found.get(name) if name is not None else None
        if media is None:
            return None
        kept = [(key, value) for key, value in attrs if key not in _IMAGE_ATTRIBUTES]
        kept += [("srcset", media_urls.srcset(media, absolute=True)), ("sizes", POST_IMAGE_SIZES)]
        if "width" not in values and "height" not in values:
            kept += [("width", str(media.width)), ("height", str(media.height))]
        return [*kept, ("loading", "lazy"), ("decoding", "async")]

    return rewrite_start_tags(html, sized)


def reading_minutes(text: str) -> int:
    """Minutes to read a Markdown text: its words at ``WORDS_PER_MINUTE``, at least one.

    A word is a run of non-space characters with a letter or digit in it, so Markdown
    punctuation such as ``-``, ``#`` or ``|`` is not counted.
    """
    words = sum(1 for chunk in text.split() if any(char.isalnum() for char in chunk))
    return max(1, (words + WORDS_PER_MINUTE // 2) // WORDS_PER_MINUTE)
