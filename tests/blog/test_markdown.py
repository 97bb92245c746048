"""The Markdown renderer: each feature, what the sanitizer lets through, and ``rel`` on links."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask

from penpress.blog import highlight
from penpress.blog.markdown import reading_minutes, render_markdown
from tests.html_dom import Element, parse

CSS_DIR = Path(__file__).parents[2] / "src" / "penpress" / "static" / "css"


def render(text: str, site_url: str | None = None) -> Element:
    return parse(render_markdown(text, site_url=site_url))


def attribute_names(root: Element) -> set[str]:
    return {name for element in root.iter() for name in element.attrs}


# --- features ------------------------------------------------------------------------------


def test_footnotes_link_both_ways_with_prefixed_ids():
    root = render(
        "Claim one[^source] and two[^other], then one again[^source].\n\n"
        "[^source]: Where it comes from.\n"
        "[^other]: Another note.\n"
    )
    refs = root.find_all("sup")
    assert [sup.classes for sup in refs] == [{"footnote-ref"}] * 3
    links = [sup.find("a") for sup in refs]
    assert [a.attrs["href"] for a in links] == ["#fn-1", "#fn-2", "#fn-1"]
    assert [a.attrs["id"] for a in links] == ["fnref-1", "fnref-2", "fnref-1-2"]
    assert [a.text for a in links] == ["1", "2", "1"]

    section = root.find("section")
    assert section.classes == {"footnotes"}
    items = section.find("ol").find_all("li")
    assert [li.attrs["id"] for li in items] == ["fn-1", "fn-2"]
    assert "Where it comes from." in items[0].text
    back = [a.attrs["href"] for a in items[0].find_all("a")]
    assert back == ["#fnref-1", "#fnref-1-2"]
    # Fragment links stay on the page: no rel.
    assert all("rel" not in a.attrs for a in root.iter("a"))


def test_inline_footnote():
    root = render("Text^[An inline note.]")
    assert root.find("sup").find("a").attrs["href"] == "#fn-1"
    assert root.find("li", id="fn-1").text.startswith("An inline note.")


def test_task_lists_are_disabled_checkboxes():
    root = render("- [ ] write\n- [x] publish\n- plain item\n")
    ul = root.find("ul")
    assert ul.classes == {"contains-task-list"}
    items = ul.find_all("li")
    boxes = [li.find_all("input") for li in items]
    assert [len(b) for b in boxes] == [1, 1, 0]
    todo, done = boxes[0][0], boxes[1][0]
    for box in (todo, done):
        assert box.attrs["type"] == "checkbox"
        assert "disabled" in box.attrs
        assert box.classes == {"task-list-item-checkbox"}
    assert "checked" not in todo.attrs
    assert "checked" in done.attrs
    assert items[0].classes == {"task-list-item"}
    label = items[0].find("label")
    assert label.attrs == {}
    assert label.find("input") is todo
    assert label.text.strip() == "write"


def test_bare_urls_become_links_but_file_names_do_not():
    root = render("See https://example.org/page?a=1&b=2 or mail me@example.org. Edit readme.md.")
    hrefs = [a.attrs["href"] for a in root.iter("a")]
    assert hrefs == ["https://example.org/page?a=1&b=2", "mailto:me@example.org"]
    assert root.find("a").text == "https://example.org/page?a=1&b=2"


def test_table_alignment_uses_align_not_style():
    root = render("| L | C | R | N |\n|:--|:-:|--:|---|\n| 1 | 2 | 3 | 4 |\n")
    assert [th.attrs.get("align") for th in root.iter("th")] == ["left", "center", "right", None]
    assert [td.attrs.get("align") for td in root.iter("td")] == ["left", "center", "right", None]
    assert "style" not in attribute_names(root)


def test_table_alignment_shows_through_the_stylesheet():
    css = (CSS_DIR / "blog.css").read_text()
    for value in ("left", "center", "right"):
        assert re.search(rf'td\[align="{value}"\]\s*\{{\s*text-align:\s*{value};', css), (
            f"no CSS for align={value}"
        )


def test_headings_get_unique_prefixed_ids_and_an_anchor_link():
    root = render(
        "# Title\n\n## Getting started\n\n### Getting started\n\n## Getting started\n\n"
        "#### Привет, мир!\n\n##### Too deep\n\n## Comments\n\n## ***\n"
    )
    assert "id" not in root.find("h1").attrs
    assert "id" not in root.find("h5").attrs
    ids = [h.attrs["id"] for h in root.iter("h2", "h3", "h4")]
    assert ids == [
        "h-getting-started",
        "h-getting-started-1",
        "h-getting-started-2",
        "h-privet-mir",
        "h-comments",  # the page's own id="comments" stays unique
        "h-section",
    ]
    anchor = root.find("h2").find("a")
    assert anchor.attrs["href"] == "#h-getting-started"
    assert anchor.classes == {"heading-anchor"}
    assert anchor.attrs["aria-label"] == "Link to this section"
    assert "rel" not in anchor.attrs


def test_heading_ids_are_stable():
    text = "## One\n\nBody\n\n## Two\n"
    assert render_markdown(text) == render_markdown(text)


def test_fenced_code_is_highlighted_with_classes():
    root = render('```python\ndef greet(name):\n    return "<hi>"\n```\n')
    pre = root.find("pre")
    assert pre.classes == {"highlight"}
    code = pre.find("code")
    assert code.classes == {"language-python"}
    spans = code.find_all("span")
    assert spans, "no highlighted tokens"
    keyword = next(s for s in spans if s.text == "def")
    assert keyword.classes == {"hl-k"}
    assert all(s.classes <= highlight.token_classes() for s in spans)
    assert code.text == 'def greet(name):\n    return "<hi>"\n'
    assert "style" not in attribute_names(root)


def test_language_aliases_and_unknown_languages():
    assert render("```py\nx = 1\n```").find("code").classes == {"language-python"}
    plain = render("```no-such-language\n<b>x</b>\n```").find("pre")
    assert plain.attrs == {}
    assert plain.find("code").attrs == {}
    assert plain.find("code").text == "<b>x</b>\n"
    assert render("```\nplain\n```").find("code").attrs == {}
    assert render("    indented code\n").find("code").text == "indented code\n"


def test_highlight_stylesheet_is_generated_and_covers_both_schemes():
    shipped = (CSS_DIR / "highlight.css").read_text()
    assert shipped == highlight.stylesheet(), "run: python -m penpress.blog.highlight > ..."
    light, dark = shipped.split("@media (prefers-color-scheme: dark)")
    for name in highlight.token_classes():
        assert f".highlight .{name} {{" in light
        assert f".highlight .{name} {{" in dark


def test_commonmark_basics_still_work():
    root = render(
        "**b** _i_ ~~gone~~ `c`\n\n> quote\n\n<details><summary>More</summary>x</details>"
    )
    assert root.find("strong").text == "b"
    assert root.find("em").text == "i"
    assert root.find("s").text == "gone"
    assert root.find("code").text == "c"
    assert root.find("blockquote")
    assert root.find("summary").text == "More"


# --- reading time --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("", 1),
        ("word " * 10, 1),
        ("word " * 344, 1),
        ("word " * 345, 2),
        ("word " * 460, 2),
        ("word " * 2300, 10),
        # Markdown punctuation is not words: 230 words and as many "-", "#", "|", ">".
        ("- # | > word\n" * 230 + "word " * 115, 2),
    ],
)
def test_reading_minutes(text, minutes):
    assert reading_minutes(text) == minutes


# --- sanitizing ----------------------------------------------------------------------------

DANGEROUS_TAGS = {
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "svg", "math", "form",
    "button", "textarea", "select", "link", "meta", "base", "noscript", "template", "video",
    "audio", "source", "applet", "marquee",
}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "poster", "background", "cite"}
SAFE_SCHEMES = {"", "http", "https", "mailto"}
ALLOWED_ID = re.compile(r"(?:h|fn|fnref)-[a-z0-9]+(?:-[a-z0-9]+)*")

XSS_VECTORS = {
    "img javascript src": '<img src="javascript:alert(1)">',
    "img onerror": "<img src=x onerror=alert(1)>",
    "img data svg": '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    "a data url": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "a vbscript": '<a href="vbscript:msgbox(1)">x</a>',
    "mixed case scheme": '<a href="JaVaScRiPt:alert(1)">x</a>',
    "decimal entities": '<a href="&#106;&#97;vascript:alert(1)">x</a>',
    "hex entities and colon": '<a href="&#x6A;avascript&colon;alert(1)">x</a>',
    "tab inside scheme": '<a href="java&#x09;script:alert(1)">x</a>',
    "leading space": "<a href=' javascript:alert(1)'>x</a>",
    "single quoted": "<a href='javascript:alert(1)' onclick='alert(2)'>x</a>",
    "unquoted": "<a href=javascript:alert(1) onmouseover=alert(2)>x</a>",
    "markdown link js": "[x](javascript:alert(1))",
    "markdown link mixed case": "[x](JaVaScRiPt:alert(1))",
    "markdown link data": "[x](data:text/html,<script>alert(1)</script>)",
    "markdown link vbscript": "[x](vbscript:msgbox)",
    "markdown image js": "![x](javascript:alert(1))",
    "markdown autolink js": "<javascript:alert(1)>",
    "markdown link entity": "[x](&#106;avascript:alert(1))",
    "reference link js": "[x][r]\n\n[r]: javascript:alert(1)",
    "svg": '<svg onload="alert(1)"><circle r="1"/><a xlink:href="javascript:x">x</a></svg>',
    "math": "<math><mtext><script>alert(1)</script></mtext><mi href=javascript:x>y</mi></math>",
    "iframe": '<iframe src="https://evil.example" srcdoc="<script>alert(1)</script>"></iframe>',
    "style element": "<style>body { display: none }</style>",
    "style attribute": '<p style="position:fixed;inset:0">cover</p>',
    "handler on allowed tag": '<details open ontoggle="alert(1)"><summary>s</summary></details>',
    "object embed": '<object data="javascript:alert(1)"></object><embed src="x.swf">',
    "form": '<form action="javascript:alert(1)"><button formaction="javascript:">b</button></form>',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "base and link": '<base href="https://evil.example/"><link rel="stylesheet" href="x.css">',
    "noscript mxss": '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "task list raw link": "- [ ] <a href=javascript:alert(1)>click</a>\n- [x] done",
    "task list input handler": "- [x] <input onfocus=alert(1) autofocus>",
    "task list text input": '- [ ] <input type="text" name="q" formaction="javascript:x" value=1>',
    "footnote label script": '[^"><script>alert(1)</script>]\n\n[^"><script>alert(1)</script>]: n',
    "footnote label img": "x[^<img src=x onerror=alert(1)>]\n\n[^<img src=x onerror=alert(1)>]: n",
    "footnote label js": "x[^javascript:alert(1)]\n\n[^javascript:alert(1)]: n",
    "footnote body html": "x[^1]\n\n[^1]: <a href='javascript:alert(1)'>n</a>",
    "fence info breaks out": '```"><script>alert(1)</script>\ncode\n```',
    "fence info attribute": '```python" onmouseover="alert(1)\ncode\n```',
    "fence info img": "```<img/src/onerror=alert(1)>\ncode\n```",
    "tilde fence info": '~~~"><svg/onload=alert(1)>\ncode\n~~~',
    "heading id clobbering": '<h2 id="comments">x</h2><a id="main" name="main">y</a>',
    "class injection": '<p class="flash notice">x</p><span class="hl-k evil">k</span>',
    "target blank": '<a href="https://evil.example" target="_blank" rel="opener">x</a>',
    "heading with html": "## <img src=x onerror=alert(1)> Title",
    "table cell style": "| a |\n|:-:|\n| <td style=x>b |",
}


def assert_harmless(root: Element) -> None:
    for element in root.iter():
        assert element.tag not in DANGEROUS_TAGS, element
        for name, value in element.attrs.items():
            assert not name.startswith("on"), element
            assert name not in {"style", "srcdoc", "target", "name", "formaction"}, element
            assert ":" not in name, element  # xlink:href and friends
            if name in URL_ATTRIBUTES:
                assert value is not None
                squeezed = "".join(ch for ch in value if ch > " ").lower()
                assert urlsplit(squeezed).scheme in SAFE_SCHEMES, element
                assert "script:" not in squeezed, element
            if name == "id":
                assert value is not None
                assert ALLOWED_ID.fullmatch(value), element
        if element.tag == "input":
            assert element.attrs.get("type") == "checkbox", element
            assert "disabled" in element.attrs, element
            assert set(element.attrs) <= {"type", "disabled", "checked", "class"}, element
        if element.tag == "span":
            assert element.classes <= highlight.token_classes(), element
        if element.tag == "code":
            assert element.classes <= highlight.language_classes(), element
        if element.tag == "p":
            assert "class" not in element.attrs, element


@pytest.mark.parametrize("text", XSS_VECTORS.values(), ids=XSS_VECTORS.keys())
def test_no_dangerous_markup_survives(text):
    html = render_markdown(text)
    assert_harmless(parse(html))
    # The same after the output is rendered again, as a re-render of body_html would.
    assert_harmless(parse(render_markdown(html)))


def test_harmless_parts_of_hostile_input_remain():
    root = render(XSS_VECTORS["task list raw link"])
    link = root.find("a")
    assert "href" not in link.attrs
    assert link.text == "click"
    assert root.find("input").attrs["type"] == "checkbox"
    fence = render(XSS_VECTORS["fence info breaks out"])
    assert fence.find("code").text == "code\n"


# --- rel: only on links that leave the site ------------------------------------------------

SITE = "https://blog.example.com"


@pytest.mark.parametrize(
    ("href", "site_url", "internal"),
    [
        ("/blog/post/hello", SITE, True),
        ("/blog/post/hello", None, True),
        ("#fn-1", None, True),
        ("other-post", None, True),
        ("?page=2", None, True),
        ("https://blog.example.com/blog/", SITE, True),
        ("http://blog.example.com/blog/", SITE, True),
        ("https://BLOG.example.com:443/x", SITE, True),
        ("https://blog.example.com:8443/x", "https://blog.example.com:8443", True),
        ("https://blog.example.com/blog/", None, False),
        ("https://blog.example.com:8443/x", SITE, False),
        ("https://elsewhere.example/", SITE, False),
        ("https://evil.blog.example.com/", SITE, False),
        ("https://blog.example.com.evil.example/", SITE, False),
        ("https://blog.example.com@evil.example/", SITE, False),
        ("//evil.example/x", SITE, False),
        ("/\\evil.example/x", SITE, False),
        ("https://evil.example\\@blog.example.com/", SITE, False),
        ("mailto:me@blog.example.com", SITE, False),
    ],
)
def test_rel_nofollow_only_on_links_leaving_the_site(href, site_url, internal):
    links = [render(f'<a href="{href}">x</a>', site_url).find("a")]
    if "\\" not in href:  # Markdown links percent-encode a backslash: a path on the site
        links.append(render(f"[x](<{href}>)", site_url).find("a"))
    for link in links:
        assert link.attrs["href"] == href
        assert link.attrs.get("rel") == (None if internal else "nofollow")


def test_authors_rel_is_replaced():
    root = render(
        '<a href="https://elsewhere.example" rel="me">a</a> <a href="/x" rel="nofollow">b</a>',
        SITE,
    )
    assert [a.attrs.get("rel") for a in root.iter("a")] == ["nofollow", None]


def test_site_url_comes_from_the_app_config(app: Flask, monkeypatch):
    text = "[in](https://blog.example.com/x) [out](https://elsewhere.example/)"
    monkeypatch.setitem(app.config, "SITE_URL", "https://blog.example.com/")
    with app.app_context():
        inside = parse(render_markdown(text))
    assert [a.attrs.get("rel") for a in inside.iter("a")] == [None, "nofollow"]
    outside = parse(render_markdown(text))  # no app context: only relative links are internal
    assert [a.attrs.get("rel") for a in outside.iter("a")] == ["nofollow", "nofollow"]


def test_rel_pass_keeps_everything_else_as_it_was():
    text = (
        '## Head\n\nA & B < C "quoted" &amp; &nbsp;x &#169; [l](/x \'title "q" & <t>\')\n\n'
        '![img](https://elsewhere.example/i.png "a > b")\n'
    )
    html = render_markdown(text, site_url=SITE)
    assert html == render_markdown(text, site_url=SITE)
    root = parse(html)
    assert root.find("a", href="/x").attrs["title"] == 'title "q" & <t>'
    assert root.find("img").attrs["title"] == "a > b"
    assert 'A & B < C "quoted" & \xa0x ©' in root.find("p").text
