"""Uploading images from the site's editor (``POST /uploads``) and serving them
(``/media/<name>``): real images, real files, read back with Pillow."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from penpress.extensions import db
from penpress.media.models import Media
from penpress.media.storage import storage_for
from tests import images
from tests.conftest import Make
from tests.factories import UserFactory
from tests.pages import csrf_token, login, multipart

UPLOADS = "/uploads"


def send(client: FlaskClient, data: bytes, filename: str = "photo.jpg", **kwargs: Any) -> Any:
    return client.post(
        UPLOADS,
        data={"file": (BytesIO(data), filename)},
        content_type="multipart/form-data",
        **kwargs,
    )


@pytest.fixture
def author_client(app: Flask, make: Make, login: Callable[..., None]) -> FlaskClient:
    client = app.test_client()
    login(client, make.user(username="photographer", role_name="author"))
    return client


def stored(app: Flask, name: str) -> bytes:
    with app.app_context(), storage_for(app).open(name) as file:
        return file.read()


def media_rows(app: Flask) -> list[Media]:
    with app.app_context():
        return list(db.session.scalars(select(Media).order_by(Media.id)))


def test_an_upload_is_stored_cleaned_and_resized(app: Flask, author_client: FlaskClient) -> None:
    photo = images.photo_with_gps(size=(2400, 1200), orientation=1)
    response = send(author_client, photo, "Holiday at the sea.jpg")
    assert response.status_code == 201, response.get_data(as_text=True)
    answer = response.get_json()
    (row,) = media_rows(app)
    assert answer["id"] == row.id
    assert (answer["width"], answer["height"]) == (2400, 1200)
    assert answer["url"] == f"http://localhost/media/{row.name}"
    assert answer["markdown"] == f"![Holiday at the sea](http://localhost/media/{row.name})"
    assert answer["name"] == "Holiday at the sea.jpg"
    # The whole image and one copy per width, all stored, none with the GPS position.
    assert row.widths == [480, 960, 1600]
    assert len(row.file_names()) == 4
    for name, width, height in row.versions():
        data = stored(app, name)
        assert images.opened(data).size == (width, height)
        assert images.gps_of(data) == {}
        assert f"/media/{name} {width}w" in answer["srcset"]


def test_the_stored_name_is_generated_whatever_the_file_was_called(
    app: Flask, author_client: FlaskClient
) -> None:
    folder = Path(app.config["MEDIA_FOLDER"])
    for evil in ("../../../etc/cron.d/evil.png", "..\\..\\evil.png", "/var/x.png", "a\x01b.png"):
        response = send(author_client, images.png(size=(100, 100)), evil)
        assert response.status_code == 201, evil
        row = media_rows(app)[-1]
        assert row.name != evil
        assert "/" not in row.name
        assert ".." not in row.name
        assert (folder / row.name).is_file()  # inside the media folder
        assert "/" not in row.original_name
        assert "\\" not in row.original_name
        assert "\x01" not in row.original_name
    assert not (folder.parent.parent / "etc").exists()


def test_a_script_named_png_is_refused(app: Flask, author_client: FlaskClient) -> None:
    for data in (images.SCRIPT, images.SVG):
        response = send(author_client, data, "innocent.png")
        assert response.status_code == 422
        error = response.get_json()["error"]
        assert error["details"] == {"file": ["The file is not a JPEG, PNG, WebP or GIF image."]}
    assert media_rows(app) == []


def test_a_decompression_bomb_is_refused(app: Flask, author_client: FlaskClient) -> None:
    for bomb in (images.png_claiming(100_000, 100_000), images.png_claiming(8000, 6000)):
        response = send(author_client, bomb, "bomb.png")
        assert response.status_code == 422
        assert "at most 40 megapixels" in response.get_json()["error"]["message"]
    assert media_rows(app) == []


def test_without_a_file_or_as_json_the_upload_says_what_to_send(
    author_client: FlaskClient,
) -> None:
    empty = author_client.post(UPLOADS, data={}, content_type="multipart/form-data")
    assert empty.status_code == 422
    assert empty.get_json()["error"]["details"] == {"file": ["Choose a file to upload."]}
    as_json = author_client.post(UPLOADS, json={"file": "x"})
    assert as_json.status_code == 415
    assert "multipart/form-data" in as_json.get_json()["error"]["message"]


def test_visitors_and_readers_cannot_upload(app: Flask, make: Make, login: Any) -> None:
    visitor = app.test_client()
    response = send(visitor, images.png())
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == 401
    reader = app.test_client()
    login(reader, make.user(role_name="reader"))
    assert send(reader, images.png()).status_code == 403
    assert media_rows(app) == []


@pytest.fixture
def small_limits(build_app: Callable[..., Flask]) -> Flask:
    return build_app(MEDIA_MAX_BYTES=20_000, RATELIMIT_ENABLED=True, RATELIMIT_UPLOADS="2 per hour")


def logged_in(app: Flask, role: str = "author") -> FlaskClient:
    with app.app_context():
        email = UserFactory(role_name=role).email
    client = app.test_client()
    assert login(client, email).status_code == 303
    return client


def test_a_file_over_the_limit_is_413_with_the_limit_named(small_limits: Flask) -> None:
    client = logged_in(small_limits)
    big = images.png(size=(400, 400), mode="RGB") + b"\0" * 30_000  # over 20,000 bytes
    response = send(client, big, "big.png")
    assert response.status_code == 413
    assert "larger than" in response.get_json()["error"]["message"]
    # A body larger than the upload limit plus the form's room is refused before it is read.
    huge = b"\0" * (20_000 + 1024 * 1024 + 10)
    body, content_type = multipart({}, {"file": (huge, "huge.png")})
    response = client.post(UPLOADS, data=body, content_type=content_type)
    assert response.status_code == 413
    assert response.mimetype == "application/json"
    assert "too large" in response.get_json()["error"]["message"]
    assert media_rows(small_limits) == []


def test_uploads_count_in_a_budget_per_account(small_limits: Flask) -> None:
    client = logged_in(small_limits)
    for _ in range(2):
        assert send(client, images.png(size=(50, 50)), "ok.png").status_code == 201
    refused = send(client, images.png(size=(50, 50)), "one-too-many.png")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "too fast" in refused.get_json()["error"]["message"]
    # Another account has a budget of its own.
    assert send(logged_in(small_limits), images.png(size=(50, 50))).status_code == 201


def test_an_upload_needs_the_pages_csrf_token(build_app: Callable[..., Flask]) -> None:
    app = build_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        email = UserFactory(role_name="author").email
    client = app.test_client()
    assert login(client, email, csrf=True).status_code == 303
    refused = send(client, images.png(size=(60, 60)))
    assert refused.status_code == 400
    assert refused.mimetype == "application/json"
    token = csrf_token(client, "/blog/create")
    accepted = send(client, images.png(size=(60, 60)), headers={"X-CSRFToken": token})
    assert accepted.status_code == 201


def test_stored_images_are_served_with_long_cache_headers(
    app: Flask, author_client: FlaskClient
) -> None:
    answer = send(author_client, images.webp(size=(1000, 500)), "w.webp").get_json()
    row = media_rows(app)[0]
    for name in row.file_names():
        with author_client.get(f"/media/{name}") as response:  # closes the file served
            assert response.status_code == 200
            assert response.mimetype == "image/webp"
            cache = response.cache_control
            assert cache.public
            assert cache.immutable
            assert cache.max_age == 365 * 24 * 60 * 60
            assert response.get_data() == stored(app, name)
            etag = response.headers["ETag"]
        again = author_client.get(f"/media/{name}", headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.cache_control.immutable
    assert answer["path"] == f"/media/{row.name}"
    anyone = app.test_client()
    with anyone.get(answer["path"]) as response:
        assert response.status_code == 200  # public, like the posts they are in
    for missing in ("0123456789abcdef0123456789abcdef.png", "..%2f..%2fsecret.png", "x.png"):
        assert anyone.get(f"/media/{missing}").status_code == 404
