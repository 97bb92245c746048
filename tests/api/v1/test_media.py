"""``/api/v1/media``: uploads with a bearer token (multipart), and featured images on posts."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from penpress.accounts import tokens
from penpress.extensions import db
from penpress.media.storage import storage_for
from tests import images
from tests.api.v1.conftest import AuthHeaders, error_of
from tests.conftest import Make
from tests.factories import UserFactory
from tests.pages import login

MEDIA = "/api/v1/media"
POSTS = "/api/v1/posts"


def upload(client: FlaskClient, data: bytes, headers: dict[str, str], name: str = "a.png") -> Any:
    return client.post(
        MEDIA,
        data={"file": (BytesIO(data), name)},
        content_type="multipart/form-data",
        headers=headers,
    )


def stored(app: Flask, url: str) -> bytes:
    name = url.rsplit("/", 1)[1]
    with app.app_context(), storage_for(app).open(name) as file:
        return file.read()


def test_an_author_uploads_with_a_token(
    app: Flask, client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    response = upload(client, images.photo_with_gps(size=(1800, 900)), auth_headers(), "p.jpg")
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert response.headers["Location"] == body["url"]
    assert body["url"].startswith("http://localhost/media/")
    assert (body["width"], body["height"]) == (900, 1800)  # turned upright
    assert body["content_type"] == "image/jpeg"
    assert [v["width"] for v in body["versions"]] == [480, 900]
    assert body["markdown"] == f"![]({body['url']})"
    assert body["name"] == "p.jpg"
    for version in body["versions"]:
        data = stored(app, version["url"])
        assert images.gps_of(data) == {}
        assert images.opened(data).width == version["width"]
        assert version["url"] in body["srcset"]


def test_uploading_needs_a_token_and_the_author_role(
    client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    anonymous = upload(client, images.png(), {})
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    error_of(anonymous)
    reader = upload(client, images.png(), auth_headers(role_name="reader"))
    assert reader.status_code == 403
    error_of(reader)
    assert client.get(MEDIA).status_code == 401
    assert client.get(MEDIA, headers=auth_headers(role_name="reader")).status_code == 403


def test_what_is_not_an_image_is_refused_clearly(
    client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    headers = auth_headers()
    renamed = upload(client, images.SCRIPT, headers, "photo.png")
    assert renamed.status_code == 422
    assert error_of(renamed)["details"] == {
        "file": ["The file is not a JPEG, PNG, WebP or GIF image."]
    }
    bomb = upload(client, images.png_claiming(100_000, 100_000), headers, "bomb.png")
    assert bomb.status_code == 422
    assert "megapixels" in error_of(bomb)["message"]
    as_json = client.post(MEDIA, json={"file": "aGVsbG8="}, headers=headers)
    assert as_json.status_code == 415
    assert "multipart/form-data" in error_of(as_json)["message"]
    no_file = client.post(MEDIA, data={"other": "x"}, headers=headers)
    assert no_file.status_code in (415, 422)  # a plain form is not multipart
    missing = client.post(
        MEDIA, data={"other": "x"}, content_type="multipart/form-data", headers=headers
    )
    assert missing.status_code == 422
    assert error_of(missing)["details"] == {"file": ["Choose a file to upload."]}


def test_a_file_over_the_limit_is_413(build_app: Callable[..., Flask]) -> None:
    app = build_app(MEDIA_MAX_BYTES=10_000)
    with app.app_context():
        headers = {"Authorization": f"Bearer {tokens.issue_token_pair(UserFactory()).access_token}"}
        db.session.commit()
    response = upload(app.test_client(), images.png(size=(300, 300)) + b"\0" * 20_000, headers)
    assert response.status_code == 413
    assert "larger than" in error_of(response)["message"]


def test_listing_shows_only_your_own_uploads(
    client: FlaskClient, make: Make, auth_headers: AuthHeaders
) -> None:
    mine, theirs = make.user(), make.user()
    upload(client, images.png(size=(40, 40)), auth_headers(theirs), "theirs.png")
    for n in range(3):
        upload(client, images.png(size=(40, 40)), auth_headers(mine), f"mine-{n}.png")
    listed = client.get(f"{MEDIA}?limit=2", headers=auth_headers(mine))
    assert listed.status_code == 200
    assert [m["name"] for m in listed.get_json()["media"]] == ["mine-2.png", "mine-1.png"]


def test_the_upload_budget_is_shared_with_the_site(build_app: Callable[..., Flask]) -> None:
    app = build_app(RATELIMIT_ENABLED=True, RATELIMIT_UPLOADS="2 per hour")
    with app.app_context():
        user = UserFactory()
        headers = {"Authorization": f"Bearer {tokens.issue_token_pair(user).access_token}"}
        db.session.commit()
        email = user.email
    site = app.test_client()
    assert login(site, email).status_code == 303
    on_site = site.post(
        "/uploads",
        data={"file": (BytesIO(images.png(size=(30, 30))), "a.png")},
        content_type="multipart/form-data",
    )
    assert on_site.status_code == 201
    client = app.test_client()
    assert upload(client, images.png(size=(30, 30)), headers).status_code == 201
    refused = upload(client, images.png(size=(30, 30)), headers)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0


# --- featured images and meta fields on posts ------------------------------------------------


@pytest.fixture
def writer(make: Make, auth_headers: AuthHeaders) -> tuple[Any, dict[str, str]]:
    user = make.user(username="writer")
    return user, auth_headers(user)


def test_a_post_takes_an_upload_as_its_featured_image(
    client: FlaskClient, writer: tuple[Any, dict[str, str]]
) -> None:
    _user, headers = writer
    media = upload(client, images.png(size=(2000, 1000)), headers).get_json()
    created = client.post(
        POSTS,
        json={
            "title": "Pictured",
            "body": "Text.",
            "published": True,
            "featured_image": media["id"],
            "featured_image_alt": "Red and blue",
            "meta_title": "A better title for search",
            "meta_description": "What people see in search results.",
        },
        headers=headers,
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    post = created.get_json()
    assert post["featured_image"] == {
        "id": media["id"],
        "url": media["url"],
        "alt": "Red and blue",
        "width": 2000,
        "height": 1000,
        "srcset": media["srcset"],
    }
    assert post["meta_title"] == "A better title for search"
    assert post["meta_description"] == "What people see in search results."
    read = client.get(f"{POSTS}/{post['slug']}", headers=headers).get_json()
    assert read["featured_image"] == post["featured_image"]
    listed = client.get(POSTS, headers=headers).get_json()["posts"]
    assert listed[0]["featured_image"] == post["featured_image"]


def test_the_featured_image_can_be_an_address_or_removed(
    client: FlaskClient, writer: tuple[Any, dict[str, str]]
) -> None:
    _user, headers = writer
    media = upload(client, images.png(size=(300, 200)), headers).get_json()
    slug = client.post(POSTS, json={"title": "T", "body": "B"}, headers=headers).get_json()["slug"]
    url = f"{POSTS}/{slug}"
    by_address = client.patch(url, json={"featured_image": media["url"]}, headers=headers)
    assert by_address.get_json()["featured_image"]["id"] == media["id"]  # one of ours
    elsewhere = "https://images.example.com/cat.jpg"
    external = client.patch(url, json={"featured_image": elsewhere}, headers=headers)
    assert external.status_code == 200
    assert external.get_json()["featured_image"] == {
        "id": None, "url": elsewhere, "alt": "", "width": None, "height": None, "srcset": None,
    }  # fmt: skip
    removed = client.patch(url, json={"featured_image": None}, headers=headers)
    assert removed.get_json()["featured_image"] is None
    untouched = client.patch(url, json={"title": "Renamed"}, headers=headers)
    assert untouched.get_json()["featured_image"] is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "Give an upload's id"),
        (0, "Not an upload's id."),
        ("javascript:alert(1)", "http(s) address"),
        ("https://example.com/a b.png", "http(s) address"),
        ("http://localhost/media/0123456789abcdef0123456789abcdef.png", "No image is stored"),
    ],
)
def test_a_bad_featured_image_is_a_422(
    client: FlaskClient, writer: tuple[Any, dict[str, str]], value: Any, message: str
) -> None:
    _user, headers = writer
    response = client.post(
        POSTS, json={"title": "T", "body": "B", "featured_image": value}, headers=headers
    )
    assert response.status_code == 422
    assert message in error_of(response)["details"]["featured_image"][0]


def test_someone_elses_upload_cannot_be_used_by_its_id(
    client: FlaskClient, make: Make, auth_headers: AuthHeaders
) -> None:
    theirs = upload(client, images.png(size=(50, 50)), auth_headers(make.user())).get_json()
    response = client.post(
        POSTS,
        json={"title": "T", "body": "B", "featured_image": theirs["id"]},
        headers=auth_headers(make.user()),
    )
    assert response.status_code == 422
    assert error_of(response)["details"] == {
        "featured_image": ["No such image among your uploads."]
    }
    # An administrator may use anyone's (editing someone else's post, say).
    admin = client.post(
        POSTS,
        json={"title": "T", "body": "B", "featured_image": theirs["id"]},
        headers=auth_headers(role_name="admin"),
    )
    assert admin.status_code == 201


def test_meta_fields_are_checked(client: FlaskClient, writer: tuple[Any, dict[str, str]]) -> None:
    _user, headers = writer
    response = client.post(
        POSTS,
        json={"title": "T", "body": "B", "meta_title": "x" * 201, "meta_description": "y" * 301},
        headers=headers,
    )
    assert response.status_code == 422
    assert set(error_of(response)["details"]) == {"meta_title", "meta_description"}


def test_a_form_part_without_a_name_is_not_a_server_error(
    client: FlaskClient, auth_headers: AuthHeaders
) -> None:
    """A multipart body with a part whose name is empty (found by the API fuzzing) is read
    like any other: the upload still needs its ``file`` field, and nothing answers 500."""
    boundary = "penpress-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name=""\r\n\r\n{{}}\r\n'
        f"--{boundary}\r\nContent-Disposition: form-data\r\n\r\nno name at all\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    response = client.post(
        MEDIA,
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=auth_headers(),
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert error_of(response)["details"] == {"file": ["Choose a file to upload."]}
