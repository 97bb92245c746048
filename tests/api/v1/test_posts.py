"""Posts through the API: listing, filters, paging, drafts, writing, permissions, caching."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from penpress.accounts.models import User
from penpress.blog import services
from penpress.blog.models import Post
from penpress.extensions import db
from tests.api.v1.conftest import AuthHeaders, error_of
from tests.conftest import Make

POSTS = "/api/v1/posts"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def test_list_shows_published_posts_in_the_documented_shape(
    client: FlaskClient, make: Make
) -> None:
    author = make.user(bio="I write.")
    make.post(author=author, title="Hello", tags=["python", "flask"])
    make.post(author=author, published=False, title="Secret draft")
    response = client.get(POSTS)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {
        "posts", "total", "page", "per_page", "pages", "links", "next_cursor", "prev_cursor",
    }  # fmt: skip
    assert (body["total"], body["page"], body["per_page"], body["pages"]) == (1, 1, 10, 1)
    assert (body["next_cursor"], body["prev_cursor"]) == (None, None)
    (post,) = body["posts"]
    assert set(post) == {
        "slug", "title", "summary", "body", "body_html", "tags", "published", "published_at",
        "status", "submitted_at", "review_note", "created_at", "updated_at", "views",
        "comment_count", "favorites_count", "author",
        "featured_image", "meta_title", "meta_description",
    }  # fmt: skip
    assert (post["status"], post["submitted_at"], post["review_note"]) == ("published", None, None)
    assert post["title"] == "Hello"
    assert post["tags"] == ["flask", "python"]
    assert post["published"] is True
    assert post["body_html"].startswith("<p>")
    assert post["author"]["username"] == author.username
    assert post["author"]["bio"] == "I write."
    assert "email" not in post["author"]
    for field in ("published_at", "created_at", "updated_at"):
        assert ISO_UTC.match(post[field]), post[field]


def test_list_pages_with_links_and_link_header(client: FlaskClient, make: Make) -> None:
    author = make.user()
    for _ in range(5):
        make.post(author=author)
    first = client.get(f"{POSTS}?per_page=2")
    body = first.get_json()
    assert (body["total"], body["pages"], len(body["posts"])) == (5, 3, 2)
    assert body["links"]["prev"] is None
    assert body["links"]["next"].endswith("/api/v1/posts?page=2&per_page=2")
    assert body["links"]["last"].endswith("page=3&per_page=2")
    assert 'rel="next"' in first.headers["Link"]
    assert 'rel="prev"' not in first.headers["Link"]

    last = client.get(body["links"]["last"]).get_json()
    assert len(last["posts"]) == 1
    assert last["links"]["next"] is None
    assert last["links"]["prev"].endswith("page=2&per_page=2")
    seen = {p["slug"] for p in body["posts"]} | {p["slug"] for p in last["posts"]}
    assert len(seen) == 3


def test_links_keep_the_filters(client: FlaskClient, make: Make) -> None:
    for _ in range(3):
        make.post(tags=["go"])
    body = client.get(f"{POSTS}?tag=go&per_page=1").get_json()
    assert "tag=go" in body["links"]["next"]


def test_page_past_the_end_is_empty(client: FlaskClient, make: Make) -> None:
    make.post()
    body = client.get(f"{POSTS}?page=9").get_json()
    assert body["posts"] == []
    assert body["total"] == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [("per_page=101", "per_page"), ("per_page=0", "per_page"), ("page=0", "page"),
     ("page=x", "page")],
)  # fmt: skip
def test_bad_paging_is_422(client: FlaskClient, query: str, field: str) -> None:
    response = client.get(f"{POSTS}?{query}")
    assert response.status_code == 422
    assert field in error_of(response)["details"]


def test_filters_by_tag_author_and_words(client: FlaskClient, make: Make) -> None:
    alice = make.user(username="alice")
    bob = make.user(username="bob")
    make.post(author=alice, title="Flask tips", tags=["python"])
    make.post(author=bob, title="Rust notes", tags=["rust"], body="Fearless concurrency")
    make.post(author=bob, title="More Python", tags=["python"])

    def titles(query: str) -> list[str]:
        return sorted(p["title"] for p in client.get(f"{POSTS}?{query}").get_json()["posts"])

    assert titles("tag=python") == ["Flask tips", "More Python"]
    assert titles("author=bob") == ["More Python", "Rust notes"]
    assert titles("author=bob&tag=python") == ["More Python"]
    assert titles("q=fearless") == ["Rust notes"]
    assert titles("author=nobody") == []
    assert titles("unknown=ignored") == ["Flask tips", "More Python", "Rust notes"]


def test_drafts_list_only_for_their_author(
    client: FlaskClient, make: Make, auth_headers: AuthHeaders
) -> None:
    author = make.user(username="writer")
    make.post(author=author, published=False, title="Draft")
    make.post(author=author, title="Out")
    query = f"{POSTS}?author=writer&drafts=true"
    own = client.get(query, headers=auth_headers(author)).get_json()
    assert sorted(p["title"] for p in own["posts"]) == ["Draft", "Out"]
    others = client.get(query, headers=auth_headers()).get_json()
    assert [p["title"] for p in others["posts"]] == ["Out"]
    assert [p["title"] for p in client.get(query).get_json()["posts"]] == ["Out"]


def test_list_costs_a_fixed_number_of_queries(
    app: Flask, client: FlaskClient, make: Make, count_queries: Any
) -> None:
    def queries_for_list() -> int:
        with count_queries() as queries:
            assert client.get(f"{POSTS}?per_page=50").status_code == 200
        return len(queries)

    make.post(tags=["a"])
    one = queries_for_list()
    with app.app_context():
        for n in range(8):
            make.comment(post=make.post(tags=[f"t{n}", "shared"]))
    assert queries_for_list() == one


# --- one post ------------------------------------------------------------------------------


def test_get_post_by_slug(client: FlaskClient, make: Make) -> None:
    post = make.post(body="# Title\n\nSome **bold** text")
    response = client.get(f"{POSTS}/{post.slug}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["slug"] == post.slug
    assert body["body"] == "# Title\n\nSome **bold** text"
    assert "<strong>bold</strong>" in body["body_html"]


def test_get_missing_post_is_404(client: FlaskClient) -> None:
    response = client.get(f"{POSTS}/no-such-post")
    assert response.status_code == 404
    assert error_of(response)["message"] == "No such post."


def test_draft_is_404_except_for_author_and_admin(
    client: FlaskClient, make: Make, auth_headers: AuthHeaders
) -> None:
    author = make.user()
    draft = make.post(author=author, published=False)
    url = f"{POSTS}/{draft.slug}"
    assert client.get(url).status_code == 404
    assert client.get(url, headers=auth_headers()).status_code == 404
    assert client.get(url, headers=auth_headers(role_name="moderator")).status_code == 404
    assert client.get(url, headers=auth_headers(author)).status_code == 200
    admin_view = client.get(url, headers=auth_headers(role_name="admin"))
    assert admin_view.status_code == 200
    assert admin_view.get_json()["published"] is False
    assert admin_view.get_json()["published_at"] is None


def test_reading_through_the_api_does_not_count_views(client: FlaskClient, make: Make) -> None:
    post = make.post()
    client.get(f"{POSTS}/{post.slug}")
    assert client.get(f"{POSTS}/{post.slug}").get_json()["views"] == 0


# --- ETag, Cache-Control -------------------------------------------------------------------


def test_etag_and_if_none_match_give_304(client: FlaskClient, make: Make) -> None:
    post = make.post()
    first = client.get(f"{POSTS}/{post.slug}")
    etag = first.headers["ETag"]
    again = client.get(f"{POSTS}/{post.slug}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    listing = client.get(POSTS)
    assert client.get(POSTS, headers={"If-None-Match": listing.headers["ETag"]}).status_code == 304


def test_etag_changes_when_the_post_changes(
    client: FlaskClient, make: Make, auth_headers: AuthHeaders
) -> None:
    author = make.user()
    post = make.post(author=author)
    headers = auth_headers(author)
    etag = client.get(f"{POSTS}/{post.slug}", headers=headers).headers["ETag"]
    client.patch(f"{POSTS}/{post.slug}", json={"title": "Changed"}, headers=headers)
    response = client.get(f"{POSTS}/{post.slug}", headers={**headers, "If-None-Match": etag})
    assert response.status_code == 200
    assert response.get_json()["title"] == "Changed"


def test_cache_control_public_for_anonymous_private_with_a_token(
    client: FlaskClient, make: Make, auth_headers: AuthHeaders
) -> None:
    make.post()
    anonymous = client.get(POSTS)
    assert "public" in anonymous.headers["Cache-Control"]
    assert "max-age=60" in anonymous.headers["Cache-Control"]
    assert "Authorization" in anonymous.headers["Vary"]
    mine = client.get(POSTS, headers=auth_headers())
    assert "private" in mine.headers["Cache-Control"]
    assert "no-cache" in mine.headers["Cache-Control"]
    created = client.post(POSTS, json={"title": "T", "body": "B"}, headers=auth_headers())
    assert "no-store" in created.headers["Cache-Control"]


# --- writing -------------------------------------------------------------------------------


def test_create_post_with_tags(client: FlaskClient, auth_headers: AuthHeaders) -> None:
    response = client.post(
        POSTS,
        json={"title": "My first post", "body": "Hello *world*", "summary": "Hi",
              "tags": ["Python", "web dev", "python"]},
        headers=auth_headers(),
    )  # fmt: skip
    assert response.status_code == 201
    body = response.get_json()
    assert body["slug"] == "my-first-post"
    assert body["tags"] == ["Python", "web dev"]
    assert body["published"] is False
    assert body["published_at"] is None
    assert body["comment_count"] == 0
    assert response.headers["Location"].endswith("/api/v1/posts/my-first-post")


def test_create_published_post_and_slug_stays_unique(
    client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    headers = auth_headers()
    first = client.post(POSTS, json={"title": "Same", "body": "B", "published": True},
                        headers=headers)  # fmt: skip
    second = client.post(POSTS, json={"title": "Same", "body": "B"}, headers=headers)
    assert first.get_json()["published"] is True
    assert ISO_UTC.match(first.get_json()["published_at"])
    assert second.get_json()["slug"] == "same-2"
    assert client.get(f"{POSTS}/same").status_code == 200


def test_create_needs_a_token(client: FlaskClient) -> None:
    response = client.post(POSTS, json={"title": "T", "body": "B"})
    assert response.status_code == 401
    error_of(response)


def test_readers_cannot_write(client: FlaskClient, auth_headers: AuthHeaders) -> None:
    response = client.post(
        POSTS, json={"title": "T", "body": "B"}, headers=auth_headers(role_name="reader")
    )
    assert response.status_code == 403
    error_of(response)


def test_create_validation_from_schema_and_service(
    client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    headers = auth_headers()
    missing = client.post(POSTS, json={"summary": "no title"}, headers=headers)
    assert missing.status_code == 422
    assert set(error_of(missing)["details"]) == {"title", "body"}
    wrong_type = client.post(POSTS, json={"title": "T", "body": "B", "tags": "a,b"},
                             headers=headers)  # fmt: skip
    assert wrong_type.status_code == 422
    assert "tags" in error_of(wrong_type)["details"]
    too_long = client.post(POSTS, json={"title": "x" * 201, "body": "B"}, headers=headers)
    assert too_long.status_code == 422
    assert error_of(too_long)["details"] == {"title": ["Title must be at most 200 characters."]}
    blank = client.post(POSTS, json={"title": "   ", "body": "B"}, headers=headers)
    assert error_of(blank)["details"] == {"title": ["Title is required."]}
    nul = client.post(POSTS, json={"title": "a\x00b", "body": "B"}, headers=headers)
    assert nul.status_code == 422
    assert "title" in error_of(nul)["details"]
    unknown = client.post(POSTS, json={"title": "T", "body": "B", "slug": "mine"},
                          headers=headers)  # fmt: skip
    assert error_of(unknown)["details"] == {"slug": ["Unknown field."]}


def test_create_without_json_is_415(client: FlaskClient, auth_headers: AuthHeaders) -> None:
    headers = auth_headers()
    for response in (
        client.post(POSTS, data={"title": "T", "body": "B"}, headers=headers),
        client.post(POSTS, data="title=T", content_type="text/plain", headers=headers),
        client.post(POSTS, headers=headers),
    ):
        assert response.status_code == 415
        error_of(response)


def test_create_with_malformed_json_is_400(client: FlaskClient, auth_headers: AuthHeaders) -> None:
    response = client.post(
        POSTS, data="{'title': 'T'}", content_type="application/json", headers=auth_headers()
    )
    assert response.status_code == 400
    error_of(response)


def test_too_large_body_is_413(client: FlaskClient, auth_headers: AuthHeaders) -> None:
    response = client.post(
        POSTS, json={"title": "T", "body": "x" * (3 * 1024 * 1024)}, headers=auth_headers()
    )
    assert response.status_code == 413
    error_of(response)


def test_patch_publishes_and_edits(
    client: FlaskClient, make: Make, auth_headers: AuthHeaders
) -> None:
    author = make.user()
    draft = make.post(author=author, published=False, title="Draft", tags=["old"])
    response = client.patch(
        f"{POSTS}/{draft.slug}",
        json={"published": True, "tags": ["new"], "body": "Fresh **text**"},
        headers=auth_headers(author),
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["published"] is True
    assert ISO_UTC.match(body["published_at"])
    assert body["tags"] == ["new"]
    assert "<strong>text</strong>" in body["body_html"]
    assert body["title"] == "Draft"
    assert body["slug"] == draft.slug
    assert client.get(f"{POSTS}/{draft.slug}").status_code == 200


def test_patch_validation(client: FlaskClient, make: Make, auth_headers: AuthHeaders) -> None:
    author = make.user()
    post = make.post(author=author)
    response = client.patch(
        f"{POSTS}/{post.slug}", json={"body": "  "}, headers=auth_headers(author)
    )
    assert response.status_code == 422
    assert error_of(response)["details"] == {"body": ["Body is required."]}
    wrong = client.patch(
        f"{POSTS}/{post.slug}", json={"published": "maybe"}, headers=auth_headers(author)
    )
    assert wrong.status_code == 422
    assert "published" in error_of(wrong)["details"]


@pytest.mark.parametrize("role", ["author", "moderator", "admin", "reader"])
def test_who_may_edit_is_the_services_rule(
    app: Flask, client: FlaskClient, make: Make, auth_headers: AuthHeaders, role: str
) -> None:
    # The website and the API ask the same service (services.may_edit); prove the API obeys it.
    post = make.post()
    other = make.user(role_name=role)
    with app.app_context():
        allowed = services.may_edit(
            db.session.get_one(User, other.id), db.session.get_one(Post, post.id)
        )
    response = client.patch(
        f"{POSTS}/{post.slug}", json={"title": "Hijacked"}, headers=auth_headers(other)
    )
    assert response.status_code == (200 if allowed else 403)
    assert allowed is (role == "admin")
    if not allowed:
        assert client.get(f"{POSTS}/{post.slug}").get_json()["title"] == post.title


def test_patch_missing_post_is_404(client: FlaskClient, auth_headers: AuthHeaders) -> None:
    response = client.patch(f"{POSTS}/nope", json={"title": "x"}, headers=auth_headers())
    assert response.status_code == 404
    error_of(response)


def test_patch_needs_a_token(client: FlaskClient, make: Make) -> None:
    post = make.post()
    response = client.patch(f"{POSTS}/{post.slug}", json={"title": "x"})
    assert response.status_code == 401
    error_of(response)


def test_delete_by_author_or_admin_only(
    client: FlaskClient, make: Make, auth_headers: AuthHeaders
) -> None:
    author = make.user()
    mine = make.post(author=author)
    theirs = make.post(author=author)
    forbidden = client.delete(f"{POSTS}/{mine.slug}", headers=auth_headers())
    assert forbidden.status_code == 403
    error_of(forbidden)
    assert client.delete(f"{POSTS}/{mine.slug}").status_code == 401
    assert client.delete(f"{POSTS}/{mine.slug}", headers=auth_headers(author)).status_code == 204
    assert client.get(f"{POSTS}/{mine.slug}").status_code == 404
    admin = auth_headers(role_name="admin")
    assert client.delete(f"{POSTS}/{theirs.slug}", headers=admin).status_code == 204
    assert client.delete(f"{POSTS}/{theirs.slug}", headers=admin).status_code == 404


def test_wrong_method_is_405_json(client: FlaskClient) -> None:
    response = client.put(POSTS, json={})
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    error_of(response)


def test_etag_of_a_compressed_answer_still_gives_304(client: FlaskClient, make: Make) -> None:
    for _ in range(5):
        make.post(body="Long enough to be worth compressing. " * 20)
    gzip = {"Accept-Encoding": "gzip"}
    first = client.get(POSTS, headers=gzip)
    assert first.headers["Content-Encoding"] == "gzip"
    etag = first.headers["ETag"]
    assert etag.endswith(':gzip"')
    again = client.get(POSTS, headers={**gzip, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["ETag"] == etag
    plain = client.get(POSTS, headers={"If-None-Match": etag})
    assert plain.status_code == 304
    assert client.get(POSTS, headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get(POSTS, headers={"If-None-Match": "*"}).status_code == 304
    weak = f"W/{etag}"
    assert client.get(POSTS, headers={**gzip, "If-None-Match": weak}).status_code == 304


def test_odd_if_none_match_values_are_ignored(client: FlaskClient, make: Make) -> None:
    make.post()
    for value in ('""', "", "garbage", '"a", , "b"', "W/"):
        response = client.get(POSTS, headers={"If-None-Match": value})
        assert response.status_code == 200, value


def test_the_list_dumps_posts_exactly_as_the_schema_does(
    app: Flask, client: FlaskClient, make: Make
) -> None:
    """The list builds its JSON without marshmallow (for speed): it must not drift."""
    from penpress.api.v1.schemas import PostSchema, post_out
    from penpress.blog import services

    author = make.user(bio="Bio.", image_url="https://example.com/a.png")
    make.post(author=author, tags=["b", "A"])
    make.post(author=make.user(), published=False)
    with app.app_context():
        for post in services.list_posts(author, services.PostFilter(), per_page=10).items:
            assert post_out(post) == PostSchema().dump(post)
    listed = client.get(POSTS).get_json()["posts"][0]
    assert listed == client.get(f"{POSTS}/{listed['slug']}").get_json()
