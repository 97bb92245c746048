"""``flask --app penpress render-posts``: every post's HTML rendered again, in batches."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select

from penpress.blog.markdown import render_markdown
from penpress.blog.models import Post
from penpress.extensions import db
from tests.conftest import Make
from tests.html_dom import parse

BODY = "## Links\n\n[here](https://blog.example.com/x) and https://elsewhere.example/\n"


def stored(app: Flask) -> list[Post]:
    with app.app_context():
        return list(db.session.scalars(select(Post).order_by(Post.id)))


def test_render_posts_rerenders_every_post_in_batches(
    app: Flask, make: Make, count_queries, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(app.config, "SITE_URL", "https://blog.example.com")
    with app.app_context():
        for n in range(4):
            make.post(body=f"{BODY}\nPost {n}", body_html="<p>rendered by an old version</p>")
        current = make.post(body=BODY)
        current.body_html = render_markdown(BODY)
        db.session.commit()
    before = {post.id: post.updated_at for post in stored(app)}

    with count_queries() as queries:
        result = app.test_cli_runner().invoke(args=["render-posts", "--batch-size", "2"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Rendered 2 posts (2 changed)...",
        "Rendered 4 posts (4 changed)...",
        "Rendered 5 posts (4 changed)...",
        "Done: 5 posts rendered, 4 changed.",
        "Static pages: 0 changed.",
    ]
    # Three batches and the empty read that ends the run: never all posts at once.
    reads = [q for q in queries if re.match(r"\s*SELECT\b.*\bFROM posts\b", q, re.S)]
    assert len(reads) == 4
    assert all("LIMIT" in q for q in reads)

    posts = stored(app)
    for post in posts:
        assert post.body_html == render_markdown(post.body, site_url="https://blog.example.com")
        assert post.updated_at == before[post.id], "re-rendering is not an edit"
        links = parse(post.body_html).find_all("a")
        assert [a.attrs.get("rel") for a in links] == [None, None, "nofollow"]


def test_render_posts_with_no_posts(app: Flask):
    result = app.test_cli_runner().invoke(args=["render-posts"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Done: 0 posts rendered, 0 changed.",
        "Static pages: 0 changed.",
    ]


def test_render_posts_renders_static_pages_too(app: Flask):
    from penpress.blog.models import Page

    with app.app_context():
        page = Page(slug="contact", title="Contact", body="**Hi**", body_html="<p>old</p>")
        db.session.add(page)
        db.session.commit()
        stamp = page.updated_at
    result = app.test_cli_runner().invoke(args=["render-posts"])
    assert result.output.splitlines()[-1] == "Static pages: 1 changed."
    with app.app_context():
        again = db.session.get(Page, page.id)
        assert again is not None
        assert again.body_html == "<p><strong>Hi</strong></p>\n"
        assert again.updated_at == stamp


def test_render_posts_rejects_a_bad_batch_size(app: Flask):
    result = app.test_cli_runner().invoke(args=["render-posts", "--batch-size", "0"])
    assert result.exit_code == 2
    assert "batch-size" in result.output
