"""What search engines and shared links see: canonical addresses, descriptions, OpenGraph and
Twitter card tags on every page, and /robots.txt."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import Make
from tests.html_dom import Element, parse

SITE = "https://blog.example.com"


def head_tags(html: str) -> dict[str, str]:
    """The page's sharing tags by name (``canonical``, ``description``, ``og:*``,
    ``twitter:*``); each must appear once."""
    head = parse(html).find("head")
    tags: dict[str, str] = {}

    def keep(name: str, value: str | None) -> None:
        assert name not in tags, f"{name} appears twice"
        tags[name] = value or ""

    for meta in head.iter("meta"):
        name = meta.attrs.get("property") or meta.attrs.get("name")
        if name and name.startswith(("og:", "twitter:", "description", "article:published")):
            keep(name, meta.attrs.get("content"))
    for link in head.find_all("link", rel="canonical"):
        keep("canonical", link.attrs.get("href"))
    return tags


@pytest.fixture
def site(app: Flask, monkeypatch: pytest.MonkeyPatch, make: Make) -> Make:
    """A site at SITE_URL with one author, a tagged post and a summary."""
    monkeypatch.setitem(app.config, "SITE_URL", SITE)
    writer = make.user(role_name="author", username="writer", bio="Writes about <gardens>.")
    make.post(
        author=writer, title="Roses & thorns", slug="roses", summary="All about roses.",
        published=True, tags=["Garden"],
    )  # fmt: skip
    return make


PAGES = {
    "/": (f"{SITE}/", "website"),
    "/blog/": (f"{SITE}/blog/", "website"),
    "/blog/tag/garden": (f"{SITE}/blog/tag/garden", "website"),
    "/blog/author/writer": (f"{SITE}/blog/author/writer", "profile"),
    "/blog/post/roses": (f"{SITE}/blog/post/roses", "article"),
    "/about": (f"{SITE}/about", "website"),
    "/auth/login": (f"{SITE}/auth/login", "website"),
}


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_canonical_description_and_card_tags(
    client: FlaskClient, site: Make, path: str
) -> None:
    canonical, kind = PAGES[path]
    response = client.get(path, headers={"Host": "evil.example"})
    assert response.status_code == 200
    tags = head_tags(response.get_data(as_text=True))
    # From SITE_URL, never from the Host header: a cached page is served to every host.
    assert tags["canonical"] == canonical
    assert tags["og:url"] == canonical
    assert tags["og:type"] == kind
    assert tags["og:site_name"] == "Penpress"
    assert tags["og:title"]
    assert tags["twitter:title"] == tags["og:title"]
    assert tags["description"]
    assert tags["og:description"] == tags["description"] == tags["twitter:description"]
    assert tags["twitter:card"] in ("summary", "summary_large_image")
    assert "evil.example" not in response.get_data(as_text=True)


def test_pages_describe_what_they_show(client: FlaskClient, site: Make) -> None:
    post = head_tags(client.get("/blog/post/roses").get_data(as_text=True))
    assert post["og:title"] == "Roses & thorns"
    assert post["description"] == "All about roses."
    assert post["article:published_time"]
    author = head_tags(client.get("/blog/author/writer").get_data(as_text=True))
    assert author["og:title"] == "writer"
    assert author["description"] == "Writes about <gardens>."  # escaped in the page, once
    tag = head_tags(client.get("/blog/tag/garden").get_data(as_text=True))
    assert tag["og:title"] == "Tag: Garden"
    assert "Garden" in tag["description"]
    home = head_tags(client.get("/").get_data(as_text=True))
    assert home["og:title"] == "Penpress"


def test_a_list_page_keeps_its_page_in_the_canonical_address_and_drops_the_rest(
    client: FlaskClient, site: Make
) -> None:
    tags = head_tags(client.get("/blog/?page=2&utm_source=x").get_data(as_text=True))
    assert tags["canonical"] == f"{SITE}/blog/?page=2"


def test_a_post_without_a_summary_still_has_a_description(client: FlaskClient, site: Make) -> None:
    site.post(title="Bare", slug="bare", summary="", published=True)
    tags = head_tags(client.get("/blog/post/bare").get_data(as_text=True))
    assert tags["description"]


def test_error_pages_name_no_canonical_address(client: FlaskClient, site: Make) -> None:
    response = client.get("/blog/post/no-such-post")
    assert response.status_code == 404
    assert "canonical" not in head_tags(response.get_data(as_text=True))


def test_description_tags_are_escaped(client: FlaskClient, site: Make) -> None:
    site.post(title='A "quoted" <title>', slug="quoted", summary='"><script>x</script>',
              published=True)  # fmt: skip
    html = client.get("/blog/post/quoted").get_data(as_text=True)
    assert "<script>x" not in html
    head = parse(html).find("head")
    description: Element = head.find("meta", name="description")
    assert description.attrs["content"] == '"><script>x</script>'


# --- robots.txt -----------------------------------------------------------------------------


def test_robots_txt_points_crawlers_to_the_sitemap(client: FlaskClient, site: Make) -> None:
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "User-agent: *"
    assert f"Sitemap: {SITE}/sitemap.xml" in lines
    assert "Disallow: /admin/" in lines
    assert "Disallow: /blog/post/" not in lines
    # Public pages stay crawlable.
    assert not any(line in ("Disallow: /", "Disallow: /blog/") for line in lines)
    assert client.get("/sitemap.xml").status_code == 200


def test_a_posts_meta_fields_and_featured_image_win_where_shared(
    client: FlaskClient, site: Make
) -> None:
    site.post(
        title="The long title", slug="meta", summary="The summary.", published=True,
        meta_title="Short & sharp", meta_description="Said for search engines.",
        featured_image_url="https://images.example/roses.jpg", featured_image_alt="Red roses",
    )  # fmt: skip
    html = client.get("/blog/post/meta").get_data(as_text=True)
    tags = head_tags(html)  # each tag once: the post's overrides replace the defaults
    assert tags["og:title"] == tags["twitter:title"] == "Short & sharp"
    assert parse(html).find("title").text == "Short & sharp · Penpress"
    assert tags["description"] == tags["og:description"] == "Said for search engines."
    assert tags["og:image"] == tags["twitter:image"] == "https://images.example/roses.jpg"
    assert tags["og:image:alt"] == "Red roses"
    assert tags["twitter:card"] == "summary_large_image"
    assert tags["canonical"] == f"{SITE}/blog/post/meta"
