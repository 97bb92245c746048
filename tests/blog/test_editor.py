"""The editor: its preview (JSON and without JavaScript), autosave of drafts with a version
check, the featured image and the meta fields, through the site."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from penpress.blog.markdown import render_markdown
from penpress.blog.models import Post
from penpress.blog.services import editor
from penpress.errors import Conflict
from penpress.extensions import db
from penpress.media.models import Media
from tests import factories, images
from tests.conftest import Make
from tests.factories import UserFactory
from tests.pages import audit_markup, csrf_token, login, multipart

PREVIEW = "/blog/editor/preview"
TRICKY = """## A heading

Some **bold**, a [link](https://example.com) and a footnote.[^1]

- [x] a task done

```python
print("hi")
```

<script>alert(1)</script><img src=x onerror=alert(1)>

[^1]: The note.
"""


@pytest.fixture
def author(make: Make) -> Any:
    return make.user(username="writer", role_name="author")


@pytest.fixture
def writer(app: Flask, author: Any, login: Callable[..., None]) -> FlaskClient:
    client = app.test_client()
    login(client, author)
    return client


def reload(app: Flask, post_id: int) -> Post:
    with app.app_context():
        post = db.session.get(Post, post_id)
        assert post is not None
        return post


def upload(client: FlaskClient, data: bytes, name: str = "picture.png") -> dict[str, Any]:
    response = client.post(
        "/uploads", data={"file": (BytesIO(data), name)}, content_type="multipart/form-data"
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    answer: dict[str, Any] = response.get_json()
    return answer


# --- preview --------------------------------------------------------------------------------


def test_the_preview_renders_exactly_as_a_save_does(app: Flask, writer: FlaskClient) -> None:
    response = writer.post(PREVIEW, json={"title": "T", "summary": "S", "body": TRICKY})
    assert response.status_code == 200
    answer = response.get_json()
    with app.app_context():
        assert answer["body_html"] == render_markdown(TRICKY)
    assert "<script>" not in answer["html"]
    assert "onerror" not in answer["html"]
    assert answer["body_html"] in answer["html"]
    assert 'class="post-lead">S</p>' in answer["html"]
    # ...and the saved post shows the same HTML.
    saved = writer.post("/blog/create", data={"title": "T", "body": TRICKY})
    assert saved.status_code == 303
    with app.app_context():
        post = db.session.scalar(select(Post))
        assert post is not None
        assert post.body_html == answer["body_html"]


def test_the_preview_shows_the_featured_image(app: Flask, writer: FlaskClient) -> None:
    media = upload(writer, images.png(size=(1200, 600)))
    answer = writer.post(
        PREVIEW,
        json={"body": "x", "featured_image": str(media["id"]), "featured_image_alt": "A view"},
    ).get_json()
    assert 'alt="A view"' in answer["html"]
    assert media["srcset"] in answer["html"]


def test_the_preview_is_for_writers_only(
    app: Flask, client: FlaskClient, make: Make, login: Callable[..., None]
) -> None:
    anonymous = client.post(PREVIEW, json={"body": "x"})
    assert anonymous.status_code == 401
    assert anonymous.get_json()["error"]["code"] == 401  # JSON, for the script
    reader = app.test_client()
    login(reader, make.user(role_name="reader"))
    assert reader.post(PREVIEW, json={"body": "x"}).status_code == 403


def test_the_preview_refuses_what_is_not_json_or_too_long(writer: FlaskClient) -> None:
    assert writer.post(PREVIEW, data={"body": "x"}).status_code == 415
    assert writer.post(PREVIEW, json=["x"]).status_code == 400
    assert writer.post(PREVIEW, json={"body": 3}).status_code == 422
    too_long = writer.post(PREVIEW, json={"body": "x" * 100_001})
    assert too_long.status_code == 422
    assert "body" in too_long.get_json()["error"]["details"]


def test_the_preview_needs_the_csrf_token(build_app: Callable[..., Flask]) -> None:
    app = build_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        email = UserFactory(role_name="author").email
    client = app.test_client()
    assert login(client, email, csrf=True).status_code == 303
    refused = client.post(PREVIEW, json={"body": "**hi**"})
    assert refused.status_code == 400
    assert refused.mimetype == "application/json"
    token = csrf_token(client, "/blog/create")
    accepted = client.post(PREVIEW, json={"body": "**hi**"}, headers={"X-CSRFToken": token})
    assert accepted.status_code == 200
    assert "<strong>hi</strong>" in accepted.get_json()["body_html"]


def test_previews_are_rate_limited_per_account(build_app: Callable[..., Flask]) -> None:
    app = build_app(RATELIMIT_ENABLED=True, RATELIMIT_EDITOR="3 per minute")
    with app.app_context():
        email = UserFactory(role_name="author").email
    client = app.test_client()
    assert login(client, email).status_code == 303
    statuses = [client.post(PREVIEW, json={"body": "x"}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_the_preview_button_works_without_javascript(app: Flask, writer: FlaskClient) -> None:
    typed = {
        "title": "Not saved yet",
        "summary": "A summary I typed",
        "body": TRICKY,
        "tags": "one, two",
        "meta_title": "Meta typed",
        "preview": "1",
    }
    response = writer.post("/blog/create", data=typed)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Post.id))) == 0  # nothing saved
        assert render_markdown(TRICKY) in html  # the preview, under the form
    # Everything typed is still in the form.
    assert 'value="Not saved yet"' in html
    assert "A summary I typed" in html
    assert 'value="one, two"' in html
    assert 'value="Meta typed"' in html
    assert "## A heading" in html  # the Markdown source in the textarea
    assert 'id="preview-heading"' in html


def test_the_editor_page_carries_what_its_script_needs(
    app: Flask, writer: FlaskClient, author: Any, make: Make
) -> None:
    upload(writer, images.png(size=(300, 200)), "first.png")
    upload(writer, images.png(size=(300, 200)), "second.png")
    html = writer.get("/blog/create").get_data(as_text=True)
    assert html.count('name="featured_image"') == 3  # none, and the two uploads
    assert 'src="/static/js/editor.js"' in html
    assert 'enctype="multipart/form-data"' in html
    assert f'data-draft-key="{author.id}:new"' in html
    assert 'data-preview-url="/blog/editor/preview"' in html
    assert 'data-upload-url="/uploads"' in html
    assert "data-autosave-url" not in html  # a new post is kept in the browser until saved
    audit_markup(html)
    draft = make.post(author=author, published=False)
    html = writer.get(f"/blog/edit/{draft.id}").get_data(as_text=True)
    assert f'data-autosave-url="/blog/editor/autosave/{draft.id}"' in html
    assert 'name="version"' in html
    assert 'aria-live="polite"' in html
    audit_markup(html)
    published = make.post(author=author)
    html = writer.get(f"/blog/edit/{published.id}").get_data(as_text=True)
    assert "data-autosave-url" not in html
    assert "data-published" in html


# --- autosave -------------------------------------------------------------------------------


def autosave(client: FlaskClient, post: Post, version: str, **fields: Any) -> Any:
    payload = {"version": version, "title": post.title, "body": post.body, **fields}
    return client.post(f"/blog/editor/autosave/{post.id}", json=payload)


def test_autosave_saves_a_draft_and_returns_the_new_version(
    app: Flask, writer: FlaskClient, author: Any, make: Make
) -> None:
    draft = make.post(author=author, published=False, title="Draft", slug="draft")
    version = editor.version_of(draft)
    response = autosave(
        writer, draft, version, title="Draft, retitled", body="New **text**", tags="a, b"
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    saved = reload(app, draft.id)
    assert answer["version"] == editor.version_of(saved) != version
    assert (saved.title, saved.body) == ("Draft, retitled", "New **text**")
    assert "<strong>text</strong>" in saved.body_html
    assert saved.slug == "draft"  # never changes by itself
    assert not saved.published
    assert saved.published_at is None
    # The next save names the new version.
    assert autosave(writer, saved, answer["version"], body="Again").status_code == 200


def test_autosave_never_publishes(app: Flask, writer: FlaskClient, author: Any, make: Make) -> None:
    draft = make.post(author=author, published=False)
    response = autosave(writer, draft, editor.version_of(draft), published=True)
    assert response.status_code == 200  # the field is not one autosave reads
    assert not reload(app, draft.id).published


def test_autosave_refuses_a_stale_version(
    app: Flask, writer: FlaskClient, author: Any, make: Make
) -> None:
    draft = make.post(author=author, published=False, body="Original")
    opened = editor.version_of(draft)
    # Another tab saves first...
    assert autosave(writer, draft, opened, body="From the other tab").status_code == 200
    # ...so this tab's save, from the version it opened, is refused.
    stale = autosave(writer, draft, opened, body="From this tab")
    assert stale.status_code == 409
    error = stale.get_json()["error"]
    assert "changed in another tab or window" in error["message"]
    assert error["details"]["version"] == [editor.version_of(reload(app, draft.id))]
    assert reload(app, draft.id).body == "From the other tab"


def test_autosave_of_a_published_post_is_refused(
    app: Flask, writer: FlaskClient, author: Any, make: Make
) -> None:
    live = make.post(author=author, body="What readers see")
    response = autosave(writer, live, editor.version_of(live), body="half a sentence")
    assert response.status_code == 409
    assert "Save changes" in response.get_json()["error"]["message"]
    assert reload(app, live.id).body == "What readers see"


def test_autosave_is_for_the_post_s_author(
    app: Flask, client: FlaskClient, author: Any, make: Make, login: Callable[..., None]
) -> None:
    draft = make.post(author=author, published=False)
    version = editor.version_of(draft)
    assert autosave(client, draft, version).status_code == 401  # the script says: log in
    reader = app.test_client()
    login(reader, make.user(role_name="reader"))
    assert autosave(reader, draft, version).status_code == 404  # a draft is not revealed
    other = app.test_client()
    login(other, make.user(role_name="author"))
    assert autosave(other, draft, version).status_code == 404
    admin = app.test_client()
    login(admin, make.user(role_name="admin"))
    assert autosave(admin, draft, version, body="Edited by an admin").status_code == 200


def test_autosave_checks_its_input(writer: FlaskClient, author: Any, make: Make) -> None:
    draft = make.post(author=author, published=False)
    version = editor.version_of(draft)
    assert autosave(writer, draft, "yesterday").status_code == 422
    assert autosave(writer, draft, version, title="").status_code == 422
    assert autosave(writer, draft, version, title=3).status_code == 422
    url = f"/blog/editor/autosave/{draft.id}"
    assert writer.post(url, data={"title": "x"}).status_code == 415
    assert writer.post("/blog/editor/autosave/999999", json={"version": version}).status_code in (
        404,
        422,
    )


def test_saving_the_form_over_a_newer_autosave_asks_first(
    app: Flask, writer: FlaskClient, author: Any, make: Make
) -> None:
    draft = make.post(author=author, published=False, title="Draft", body="One")
    opened = editor.version_of(draft)
    assert autosave(writer, draft, opened, body="Two, from another tab").status_code == 200
    form = {"title": "Draft", "body": "Three, from this page", "version": opened}
    refused = writer.post(f"/blog/edit/{draft.id}", data=form)
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert "changed in another tab or window" in html
    assert "Three, from this page" in html  # the text typed here is kept
    assert reload(app, draft.id).body == "Two, from another tab"
    # The page now carries the newer version: saving again replaces it, on purpose.
    newer = re.search(r'name="version"[^>]*value="([^"]+)"', html)
    assert newer is not None
    form["version"] = newer.group(1).replace("&#43;", "+")
    assert writer.post(f"/blog/edit/{draft.id}", data=form).status_code == 303
    assert reload(app, draft.id).body == "Three, from this page"


# --- the featured image and meta fields on pages ----------------------------------------------


def test_a_featured_image_shows_in_lists_on_the_page_and_when_shared(
    app: Flask, writer: FlaskClient, client: FlaskClient
) -> None:
    media = upload(writer, images.photo_with_gps(size=(2400, 1600), orientation=1), "sea.jpg")
    response = writer.post(
        "/blog/create",
        data={
            "title": "By the sea",
            "summary": "The summary.",
            "body": "Text.",
            "published": "y",
            "featured_image": str(media["id"]),
            "featured_image_alt": "Waves on a beach",
            "meta_title": "The sea, in pictures",
            "meta_description": "Pictures of the sea for search engines.",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        row = db.session.get(Media, media["id"])
        assert row is not None
        names = row.file_names()
    page = client.get(response.location).get_data(as_text=True)
    assert "<title>The sea, in pictures · " in page
    assert '<meta property="og:title" content="The sea, in pictures">' in page
    assert '<meta name="description" content="Pictures of the sea for search engines.">' in page
    # og:image: an absolute address under SITE_URL, the 1600-wide copy.
    assert f'<meta property="og:image" content="http://localhost/media/{names[2]}">' in page
    assert '<meta property="og:image:width" content="1600">' in page
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    assert '<meta property="og:image:alt" content="Waves on a beach">' in page
    figure = page[page.index('<figure class="post-featured">') :]
    assert 'width="2400" height="1600" alt="Waves on a beach"' in figure
    for name, width in zip(names, (480, 960, 1600, 2400), strict=True):
        assert f"/media/{name} {width}w" in figure
    listing = client.get("/blog/").get_data(as_text=True)
    card = listing[listing.index('class="post-card-image"') :]
    assert 'srcset="/media/' in card
    assert 'alt="Waves on a beach"' in card
    assert 'width="2400" height="1600"' in card
    assert 'loading="lazy"' in card
    assert f'src="/media/{names[0]}"' in card  # the 480 copy by default in a card


def test_a_list_of_pictured_posts_costs_no_query_per_post(
    app: Flask,
    client: FlaskClient,
    writer: FlaskClient,
    author: Any,
    make: Make,
    count_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Rendering is measured: on the Redis pass the page cache would serve the first list.
    monkeypatch.setitem(app.config, "PAGE_CACHE_ENABLED", False)
    media = upload(writer, images.png(size=(600, 400)))
    with app.app_context():
        picture = db.session.get(Media, media["id"])
        for n in range(2):
            make.post(author=author, title=f"Pictured {n}", featured_image=picture)
    client.get("/blog/")
    with count_queries() as few:
        assert client.get("/blog/").status_code == 200
    with app.app_context():
        picture = db.session.get(Media, media["id"])
        for n in range(6):
            make.post(author=author, title=f"More {n}", featured_image=picture)
    with count_queries() as many:
        html = client.get("/blog/").get_data(as_text=True)
    assert html.count('class="post-card-image"') == 8
    assert len(many) == len(few)


def test_a_post_without_a_featured_image_says_so_to_sharers(
    client: FlaskClient, make: Make
) -> None:
    post = make.post(title="Plain")
    page = client.get(f"/blog/post/{post.slug}").get_data(as_text=True)
    assert '<meta name="twitter:card" content="summary">' in page
    assert "og:image" not in page
    assert "post-featured" not in page


def test_the_form_uploads_a_featured_image_without_javascript(
    app: Flask, writer: FlaskClient
) -> None:
    response = writer.post(
        "/blog/create",
        data={
            "title": "From a plain form",
            "body": "Text.",
            "featured_upload": (BytesIO(images.photo_with_gps()), "no-js.jpg"),
            "featured_image_alt": "Uploaded with the form",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    with app.app_context():
        post = db.session.scalar(select(Post))
        assert post is not None
        assert post.featured_image_id is not None
        media = db.session.get(Media, post.featured_image_id)
        assert media is not None
        assert media.original_name == "no-js.jpg"


def test_a_failed_save_asks_for_the_featured_upload_again(app: Flask, writer: FlaskClient) -> None:
    response = writer.post(
        "/blog/create",
        data={
            "title": "",
            "body": "Text.",
            "featured_upload": (BytesIO(images.png(size=(80, 80))), "lost.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Choose the file again" in html
    with app.app_context():
        assert db.session.scalar(select(func.count(Media.id))) == 0  # rolled back with the post


def test_a_refused_featured_upload_shows_next_to_its_field(writer: FlaskClient) -> None:
    response = writer.post(
        "/blog/create",
        data={
            "title": "T",
            "body": "B",
            "featured_upload": (BytesIO(images.SCRIPT), "evil.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="featured_upload-error"' in html
    assert "The file is not a JPEG, PNG, WebP or GIF image." in html


def test_images_in_the_body_get_their_resized_copies(app: Flask, writer: FlaskClient) -> None:
    media = upload(writer, images.png(size=(1000, 500)), "chart.png")
    body = f"{media['markdown']}\n\n![elsewhere](https://example.com/x.png)"
    writer.post("/blog/create", data={"title": "Charts", "body": body, "published": "y"})
    with app.app_context():
        post = db.session.scalar(select(Post))
        assert post is not None
        html = post.body_html
    ours = html[html.index(f'src="{media["url"]}"') :]
    ours = ours[: ours.index(">")]
    absolute = media["srcset"].replace("/media/", "http://localhost/media/")
    assert f'srcset="{absolute}"' in ours
    assert 'width="1000" height="500"' in ours
    assert 'loading="lazy"' in ours
    theirs = html[html.index('src="https://example.com/x.png"') :]
    assert "srcset" not in theirs[: theirs.index(">")]


@pytest.mark.postgres
def test_two_saves_racing_from_one_version_cannot_both_win(
    app: Flask, author: Any, make: Make
) -> None:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite runs one writer at a time; the race needs PostgreSQL's row locks")
    draft = make.post(author=author, published=False, body="Original")
    opened = editor.version_of(draft)
    first = app.app_context()
    first.push()
    try:
        me = db.session.get(type(author), author.id)
        editor.autosave_draft(me, draft.id, opened, body="First tab")  # holds the row
        outcome: list[str] = []

        def second_tab() -> None:
            with app.app_context():
                other = db.session.get(type(author), author.id)
                try:
                    editor.autosave_draft(other, draft.id, opened, body="Second tab")
                    db.session.commit()
                    outcome.append("saved")
                except Conflict:
                    db.session.rollback()
                    outcome.append("conflict")

        racer = threading.Thread(target=second_tab)
        racer.start()
        racer.join(0.5)
        assert racer.is_alive()  # waits for the first save's row lock...
        db.session.commit()
        racer.join(10)
        assert outcome == ["conflict"]  # ...then sees a newer version, and saves nothing
    finally:
        first.pop()
    assert reload(app, draft.id).body == "First tab"


def test_a_featured_upload_over_the_limit_is_413_with_the_text_kept(
    build_app: Callable[..., Flask],
) -> None:
    app = build_app(MEDIA_MAX_BYTES=10_000)
    with app.app_context():
        email = UserFactory(role_name="author").email
    client = app.test_client()
    assert login(client, email).status_code == 303
    form = {
        "title": "Kept",
        "body": "My long text, not lost.",
        "featured_upload": (BytesIO(images.png(size=(200, 200)) + b"\0" * 20_000), "big.png"),
    }
    response = client.post("/blog/create", data=form, content_type="multipart/form-data")
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "larger than" in html
    assert "My long text, not lost." in html
    # A body past the upload limit and the form's room is refused before it is read.
    body, content_type = multipart(
        {"title": "Kept", "body": "Text"},
        {"featured_upload": (b"\0" * (10_000 + 1024 * 1024 + 1), "huge.png")},
    )
    response = client.post("/blog/create", data=body, content_type=content_type)
    assert response.status_code == 413
    assert "At most 1.0 MB may be sent here." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Post.id))) == 0


def test_autosave_needs_the_csrf_token(build_app: Callable[..., Flask]) -> None:
    app = build_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        user = UserFactory(role_name="author")
        email = user.email
    client = app.test_client()
    assert login(client, email, csrf=True).status_code == 303
    with app.app_context():
        draft = factories.PostFactory(author=db.session.get(type(user), user.id), published=False)
        url, version = f"/blog/editor/autosave/{draft.id}", editor.version_of(draft)
    payload = {"version": version, "body": "Typed"}
    assert client.post(url, json=payload).status_code == 400
    token = csrf_token(client, "/blog/create")
    assert client.post(url, json=payload, headers={"X-CSRFToken": token}).status_code == 200
