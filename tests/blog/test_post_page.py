"""A post page with the Markdown features, its reading time, and clickable comment links."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import Make
from tests.html_dom import Element, parse

BODY = """\
## Comments

Words about comments[^1], see https://example.org/more.

- [ ] a task
- [x] a done task

| left | right |
|:-----|------:|
| a    | b     |

```python
print("hi")
```

[^1]: A note.
"""


def page(client: FlaskClient, url: str) -> Element:
    response = client.get(url)
    assert response.status_code == 200
    return parse(response.get_data(as_text=True))


def test_post_page_renders_markdown_features_safely(app: Flask, client: FlaskClient, make: Make):
    with app.app_context():
        post = make.post(body=BODY + "\nword" * 700)
    root = page(client, f"/blog/post/{post.slug}")

    body = root.find("div", **{"class": "post-body prose"})
    assert body.find("h2").attrs["id"] == "h-comments"
    assert body.find("pre").find("code").classes == {"language-python"}
    assert body.find("td").attrs["align"] == "left"
    assert body.find("section").classes == {"footnotes"}
    assert [i.attrs["type"] for i in body.iter("input")] == ["checkbox", "checkbox"]

    # The page's own ids stay unique and no inline style sneaks in (the CSP forbids them).
    ids = [e.attrs["id"] for e in root.iter() if e.attrs.get("id")]
    assert len(ids) == len(set(ids))
    assert "comments" in ids
    assert not [e for e in root.iter() if "style" in e.attrs or e.tag == "style"]
    stylesheets = [e.attrs["href"] for e in root.iter("link") if e.attrs.get("rel") == "stylesheet"]
    assert "/static/css/highlight.css" in stylesheets


def test_post_page_shows_reading_time_next_to_the_date(app: Flask, client: FlaskClient, make: Make):
    with app.app_context():
        short = make.post(body="Just a few words.")
        long = make.post(body="word " * 1000)
    for post, minutes in ((short, 1), (long, 4)):
        meta = page(client, f"/blog/post/{post.slug}").find("p", **{"class": "post-meta"})
        assert meta.find("time")
        assert meta.find("span", **{"class": "reading-time"}).text == f"{minutes} min read"


def test_comment_links_are_clickable_and_the_rest_stays_text(
    app: Flask, client: FlaskClient, make: Make
):
    body = (
        "Read https://example.org/a?b=1&c=2 <script>alert(1)</script>\n"
        'and https://example.org/x"onmouseover="alert(1) <img src=x onerror=alert(1)>'
    )
    with app.app_context():
        post = make.post()
        comment = make.comment(post=post, body=body)
    item = page(client, f"/blog/post/{post.slug}").find("li", id=f"comment-{comment.id}")
    paragraph = item.find("p", **{"class": "comment-body"})
    assert [e.tag for e in paragraph.iter()] == ["a", "a"]
    first, second = paragraph.find_all("a")
    assert first.attrs == {"href": "https://example.org/a?b=1&c=2", "rel": "nofollow ugc"}
    assert second.attrs == {
        "href": 'https://example.org/x"onmouseover="alert(1)',
        "rel": "nofollow ugc",
    }
    assert paragraph.text == body

    # The APIs keep answering with the text as written.
    api = client.get(f"/api/v1/posts/{post.slug}/comments").get_json()
    assert [c["body"] for c in api["comments"]] == [body]
