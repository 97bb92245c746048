"""Tags with counts of published posts."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import Make


def test_tags_with_published_post_counts(client: FlaskClient, make: Make) -> None:
    make.post(tags=["python", "web"])
    make.post(tags=["python"])
    make.post(tags=["python", "hidden"], published=False)
    response = client.get("/api/v1/tags")
    assert response.status_code == 200
    assert response.get_json() == {
        "tags": [
            {"name": "python", "slug": "python", "post_count": 2},
            {"name": "web", "slug": "web", "post_count": 1},
        ]
    }
    etag = response.headers["ETag"]
    assert client.get("/api/v1/tags", headers={"If-None-Match": etag}).status_code == 304


def test_no_tags(client: FlaskClient) -> None:
    assert client.get("/api/v1/tags").get_json() == {"tags": []}
