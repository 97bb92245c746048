"""Tags: GET /tags."""

from __future__ import annotations


def test_tags_of_published_articles_most_used_first(api, jake, make):
    api.create_article(jake["token"], title="One", tagList=["dragons", "training"])
    api.create_article(jake["token"], title="Two", tagList=["dragons"])
    make.post(published=False, tags=["secret-draft-tag"])
    response = api.get("/tags")
    assert response.status_code == 200
    payload = response.get_json()
    assert set(payload) == {"tags"}
    assert payload["tags"] == ["dragons", "training"]


def test_tags_when_there_are_none(api):
    response = api.get("/tags")
    assert response.status_code == 200
    assert response.get_json() == {"tags": []}


def test_tags_ignore_any_token(api, jake):
    assert api.get("/tags", jake["token"]).status_code == 200
