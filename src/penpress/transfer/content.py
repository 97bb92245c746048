"""Other platforms' post content made into Penpress Markdown.

WordPress and Ghost store HTML (WordPress without its paragraphs: it adds ``<p>`` when it
shows a post, and with shortcodes such as ``[caption]``). Here the shortcodes become HTML, the
paragraphs are made as WordPress makes them, the site's sanitizer keeps only the markup posts
may hold, and markdownify turns the rest into Markdown, so the writer edits an imported post
like any other. The import renders that Markdown (and sanitizes it again) on save.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping

from penpress.blog.markdown import sanitize_html

# [name attr="value" other='v' bare] ... [/name]  (WordPress's own shortcode grammar, simplified)
_SHORTCODE = re.compile(
    r"\[(?P<name>[A-Za-z_][\w-]*)(?P<attrs>(?:\s[^\]]*)?)\]"
    r"(?:(?P<inner>.*?)\[/(?P=name)\])?",
    re.DOTALL,
)
_ATTRIBUTE = re.compile(r"""([\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|(\S+))""")
_BLOCK_START = re.compile(
    r"^\s*<(?:p|div|h[1-6]|ul|ol|li|blockquote|pre|table|thead|tbody|tr|td|th|figure|hr|"
    r"section|dl|dt|dd|address|details|summary|!--)[\s>/]",
    re.IGNORECASE,
)
_IMG_SRC = re.compile(r"""<img\b[^>]*\bsrc\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


def shortcode_attributes(text: str) -> dict[str, str]:
    return {
        match.group(1).lower(): next(g for g in match.groups()[1:] if g is not None)
        for match in _ATTRIBUTE.finditer(text)
    }


def convert_shortcodes(
    text: str, attachment_urls: Mapping[str, str], warn: Callable[[str], None]
) -> str:
    """WordPress shortcodes as plain HTML: captions as the image and its caption, galleries
    as their images, embeds, audio and video as links. Any other shortcode is unwrapped (its
    content kept) or, with no content, removed with a warning: never shown raw."""

    def replace(match: re.Match[str]) -> str:
        name = match.group("name").lower()
        attributes = shortcode_attributes(match.group("attrs") or "")
        inner = match.group("inner")
        if name in {"caption", "wp_caption"}:
            body = convert_shortcodes(inner or "", attachment_urls, warn)
            caption = attributes.get("caption") or _IMG_TAG_OR_LINK.sub("", body).strip()
            image = _IMG_TAG_OR_LINK.search(body)
            shown = image.group(0) if image else ""
            return f"\n\n{shown}\n\n<p><em>{caption}</em></p>\n\n" if caption else shown
        if name == "gallery":
            ids = [i.strip() for i in attributes.get("ids", "").split(",") if i.strip()]
            images = [
                f'<img src="{html.escape(attachment_urls[i])}" alt="">'
                for i in ids
                if i in attachment_urls
            ]
            if len(images) < len(ids) or not ids:
                warn("a [gallery] lost images that are not in the export")
            return "\n\n" + "\n".join(f"<p>{image}</p>" for image in images) + "\n\n"
        if name in {"embed", "audio", "video", "playlist"}:
            url = (inner or "").strip() or attributes.get("src") or attributes.get("mp3") or ""
            url = url or next((v for k, v in attributes.items() if k in {"mp4", "m4a"}), "")
            if not url:
                warn(f"a [{name}] without an address was removed")
                return ""
            escaped = html.escape(url)
            return f'<p><a href="{escaped}">{escaped}</a></p>'
        if inner is not None:
            return convert_shortcodes(inner, attachment_urls, warn)
        if attributes or name in _KNOWN_EMPTY:
            warn(f"the shortcode [{name}] was removed (Penpress has no equivalent)")
            return ""
        return match.group(0)  # "[note]" in running text: not a shortcode

    return _SHORTCODE.sub(replace, text)


# Shortcodes WordPress and common plugins use without attributes.
_KNOWN_EMPTY = {"gallery", "contact-form", "contact-form-7", "toc", "more", "nextpage"}
_IMG_TAG_OR_LINK = re.compile(r"(?:<a\b[^>]*>\s*)?<img\b[^>]*>(?:\s*</a>)?", re.IGNORECASE)


def autop(text: str) -> str:
    """Paragraphs as WordPress's ``wpautop`` makes them: text parted by a blank line is a
    paragraph, a single line break a ``<br>``; blocks already in HTML stay as they are."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    chunks = [chunk.strip() for chunk in re.split(r"\n\s*\n", text) if chunk.strip()]
    out = []
    for chunk in chunks:
        if _BLOCK_START.match(chunk):
            out.append(chunk)
        else:
            out.append("<p>" + chunk.replace("\n", "<br>\n") + "</p>")
    return "\n\n".join(out)


def html_to_markdown(text: str) -> str:
    """Sanitized HTML as Markdown (headings with ``#``, lists with ``-``)."""
    # Imported here: markdownify brings BeautifulSoup (about 55 ms), which only an import
    # needs, and every process that serves pages would otherwise pay it at start-up.
    from markdownify import markdownify

    clean = sanitize_html(text)
    converted = markdownify(clean, heading_style="ATX", bullets="-", escape_misc=False)
    return re.sub(r"\n{3,}", "\n\n", converted).strip()


def wordpress_to_markdown(
    text: str, attachment_urls: Mapping[str, str], warn: Callable[[str], None]
) -> str:
    """A WordPress post's ``content:encoded`` as Penpress Markdown."""
    return html_to_markdown(autop(convert_shortcodes(text, attachment_urls, warn)))


def image_sources(text: str) -> list[str]:
    """The addresses of the images an HTML text shows."""
    return _IMG_SRC.findall(text)
