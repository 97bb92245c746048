"""A Conduit front end's whole session, in the order the official API collection runs it."""

from __future__ import annotations

from tests.api.realworld.shapes import (
    check_article,
    check_articles,
    check_comment,
    check_errors,
    check_profile,
    check_user,
)


def test_a_front_end_session_end_to_end(api):
    # Auth
    registered = api.post(
        "/users",
        json={"user": {"email": "jake@jake.jake", "password": "jakejake", "username": "jake"}},
    )
    assert registered.status_code == 201
    check_user(registered.get_json()["user"])
    login = api.post(
        "/users/login", json={"user": {"email": "jake@jake.jake", "password": "jakejake"}}
    )
    assert login.status_code == 200
    token = login.get_json()["user"]["token"]
    check_user(api.get("/user", token).get_json()["user"])
    updated = api.put("/user", token, json={"user": {"email": "jake@jake.jake"}})
    assert updated.status_code == 200
    check_user(updated.get_json()["user"])

    # Articles, empty
    for path in ("/articles", "/articles?author=johnjacob", "/articles?favorited=jake"):
        for auth in (None, token):
            response = api.get(path, auth)
            assert response.status_code == 200
            assert response.get_json() == {"articles": [], "articlesCount": 0}

    # Articles, favorite, comments
    created = api.post(
        "/articles",
        token,
        json={
            "article": {
                "title": "How to train your dragon",
                "description": "Ever wonder how?",
                "body": "Very carefully.",
                "tagList": ["training", "dragons"],
            }
        },
    )
    assert created.status_code == 201
    article = created.get_json()["article"]
    check_article(article)
    slug = article["slug"]
    assert article["tagList"] == ["dragons", "training"]

    feed = api.get("/articles/feed", token)
    assert feed.status_code == 200
    assert feed.get_json() == {"articles": [], "articlesCount": 0}  # nobody followed yet

    for path in ("/articles", "/articles?author=jake", "/articles?tag=dragons"):
        for auth in (None, token):
            payload = api.get(path, auth).get_json()
            check_articles(payload)
            assert payload["articlesCount"] == 1
            assert payload["articles"][0]["tagList"] == ["dragons", "training"]

    single = api.get(f"/articles/{slug}", token).get_json()["article"]
    check_article(single)

    changed = api.put(f"/articles/{slug}", token, json={"article": {"body": "With two hands"}})
    assert changed.status_code == 200
    assert changed.get_json()["article"]["body"] == "With two hands"

    favorited = api.post(f"/articles/{slug}/favorite", token).get_json()["article"]
    check_article(favorited)
    assert favorited["favorited"] is True
    assert favorited["favoritesCount"] > 0
    by_fan = api.get("/articles?favorited=jake", token).get_json()
    check_articles(by_fan)
    assert by_fan["articles"][0]["favorited"] is True
    unfavorited = api.delete(f"/articles/{slug}/favorite", token).get_json()["article"]
    check_article(unfavorited)
    assert unfavorited["favorited"] is False
    assert unfavorited["favoritesCount"] == 0

    comment = api.post(
        f"/articles/{slug}/comments", token, json={"comment": {"body": "Thank you so much!"}}
    )
    assert comment.status_code == 200
    check_comment(comment.get_json()["comment"])
    comment_id = comment.get_json()["comment"]["id"]
    comments = api.get(f"/articles/{slug}/comments", token).get_json()["comments"]
    assert [c["id"] for c in comments] == [comment_id]
    check_comment(comments[0])
    assert api.delete(f"/articles/{slug}/comments/{comment_id}", token).status_code == 204
    assert api.delete(f"/articles/{slug}", token).status_code == 204

    # Profiles
    celeb = api.post(
        "/users",
        json={"user": {"email": "celeb@jake.jake", "password": "jakejake", "username": "celeb"}},
    )
    assert celeb.status_code == 201
    profile = api.get("/profiles/celeb", token).get_json()["profile"]
    check_profile(profile)
    followed = api.post("/profiles/celeb/follow", token).get_json()["profile"]
    check_profile(followed)
    assert followed["following"] is True
    unfollowed = api.delete("/profiles/celeb/follow", token).get_json()["profile"]
    check_profile(unfollowed)
    assert unfollowed["following"] is False

    # Tags
    tags = api.get("/tags")
    assert tags.status_code == 200
    assert isinstance(tags.get_json()["tags"], list)

    # The same account on the way out
    check_errors(api.get("/articles/feed"), 401)
