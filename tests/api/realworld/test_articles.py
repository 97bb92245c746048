"""Articles: list, feed, get, create, update, delete, favorite, unfavorite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from penpress.accounts import services as accounts
from penpress.accounts import sessions
from penpress.accounts.models import User
from penpress.blog import services as blog
from penpress.blog.models import Post
from penpress.extensions import db
from tests.api.realworld.shapes import check_article, check_articles, check_errors

NEW = {"title": "How to train your dragon", "description": "Ever wonder how?", "body": "Believe"}


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


# --- create ------------------------------------------------------------------------------------


def test_create_article_returns_201_and_the_article(api, jake):
    before = datetime.now(UTC) - timedelta(seconds=1)
    response = api.post(
        "/articles",
        jake["token"],
        json={"article": NEW | {"tagList": ["training", "dragons", "Zoology"]}},
    )
    assert response.status_code == 201
    article = response.get_json()["article"]
    check_article(article)
    assert article["slug"] == "how-to-train-your-dragon"
    assert article["title"] == NEW["title"]
    assert article["description"] == NEW["description"]
    assert article["body"] == NEW["body"]
    assert article["tagList"] == ["dragons", "training", "Zoology"]
    assert article["favorited"] is False
    assert article["favoritesCount"] == 0
    assert article["author"] == {"username": "jake", "bio": "", "image": None, "following": False}
    assert before <= _parse(article["createdAt"]) <= datetime.now(UTC)
    assert _parse(article["updatedAt"]) >= _parse(article["createdAt"])
    # Stored as a published post with description as summary, body as Markdown
    fetched = api.get("/articles/how-to-train-your-dragon").get_json()["article"]
    assert fetched == article


def test_article_is_published_at_once_and_visible_on_the_site_services(api, app, jake):
    api.create_article(jake["token"], body="**Bold** move")
    with app.app_context():
        post = blog.get_post(None, "how-to-train-your-dragon")
        assert post.published
        assert post.summary == "Ever wonder how?"
        assert post.body == "**Bold** move"
        assert "<strong>Bold</strong>" in post.body_html


def test_create_article_without_tags(api, jake):
    article = api.create_article(jake["token"], tagList=[])
    assert article["tagList"] == []
    response = api.post("/articles", jake["token"], json={"article": NEW})
    assert response.status_code == 201
    assert response.get_json()["article"]["tagList"] == []
    assert response.get_json()["article"]["slug"] == "how-to-train-your-dragon-2"


def test_an_article_titled_feed_stays_reachable(api, jake):
    article = api.create_article(jake["token"], title="Feed")
    assert article["slug"] == "feed-2"
    assert api.get("/articles/feed-2").get_json()["article"]["title"] == "Feed"


def test_duplicate_tags_are_merged(api, jake):
    article = api.create_article(jake["token"], tagList=["dragons", "Dragons", " dragons ", ""])
    assert article["tagList"] == ["dragons"]


@pytest.mark.parametrize("field", ["title", "description", "body"])
def test_create_article_requires_title_description_and_body(api, jake, field):
    article = dict(NEW)
    del article[field]
    errors = check_errors(api.post("/articles", jake["token"], json={"article": article}), 422)
    assert errors == {field: ["can't be empty"]}


@pytest.mark.parametrize("field", ["title", "description", "body"])
@pytest.mark.parametrize("blank", ["", "  \n ", None])
def test_create_article_rejects_blank_values(api, jake, field, blank):
    article = NEW | {field: blank}
    check_errors(api.post("/articles", jake["token"], json={"article": article}), 422, field)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", 1),
        ("body", ["x"]),
        ("description", {"a": 1}),
        ("tagList", "dragons"),
        ("tagList", [1, 2]),
        ("tagList", {"a": "b"}),
        ("title", "x" * 201),
        ("description", "x" * 501),
        ("tagList", ["x" * 65]),
        ("tagList", [f"tag{n}" for n in range(21)]),
        ("tagList", ["!!!"]),
    ],
)
def test_create_article_validates_types_and_limits(api, jake, field, value):
    article = NEW | {field: value}
    check_errors(api.post("/articles", jake["token"], json={"article": article}), 422, field)


@pytest.mark.parametrize("body", [{}, NEW, {"article": None}, {"article": "x"}, []])
def test_create_article_without_an_article_object_is_422(api, jake, body):
    check_errors(api.post("/articles", jake["token"], json=body), 422, "article")


def test_create_article_needs_a_token(api):
    check_errors(api.post("/articles", json={"article": NEW}), 401)


def test_a_reader_may_not_write_articles(api, make):
    make.user(username="reader", role_name="reader")
    login = api.post(
        "/users/login",
        json={"user": {"email": "reader@example.com", "password": "correct-horse-battery"}},
    )
    token = login.get_json()["user"]["token"]
    check_errors(api.post("/articles", token, json={"article": NEW}), 403)


# --- get ---------------------------------------------------------------------------------------


def test_get_article_anonymously(api, jake):
    created = api.create_article(jake["token"])
    response = api.get(f"/articles/{created['slug']}")
    assert response.status_code == 200
    article = response.get_json()["article"]
    check_article(article)
    assert article == created


def test_get_unknown_article_is_404(api, jake):
    check_errors(api.get("/articles/no-such-article"), 404)
    check_errors(api.get("/articles/no-such-article", jake["token"]), 404)


def test_a_site_draft_is_hidden_except_from_its_author(api, make, jake, celeb):
    writer = make.user(username="writer")
    make.post(author=writer, slug="secret-draft", title="Secret", published=False)
    check_errors(api.get("/articles/secret-draft"), 404)
    check_errors(api.get("/articles/secret-draft", celeb["token"]), 404)
    token = api.post(
        "/users/login",
        json={"user": {"email": "writer@example.com", "password": "correct-horse-battery"}},
    ).get_json()["user"]["token"]
    response = api.get("/articles/secret-draft", token)
    assert response.status_code == 200
    check_article(response.get_json()["article"])
    # ... and never listed, not even to its author
    assert api.get("/articles", token).get_json() == {"articles": [], "articlesCount": 0}
    assert api.get("/articles?author=writer", token).get_json()["articlesCount"] == 0


# --- list --------------------------------------------------------------------------------------


def test_list_articles_newest_first_without_bodies(api, jake, celeb):
    first = api.create_article(jake["token"], title="First")
    second = api.create_article(celeb["token"], title="Second")
    response = api.get("/articles")
    assert response.status_code == 200
    payload = response.get_json()
    check_articles(payload)
    assert payload["articlesCount"] == 2
    assert [a["slug"] for a in payload["articles"]] == [second["slug"], first["slug"]]
    listed = payload["articles"][1]
    assert listed == {key: value for key, value in first.items() if key != "body"}


def test_list_bodies_can_be_switched_back_on_for_older_clients(api, app, jake, monkeypatch):
    created = api.create_article(jake["token"])
    monkeypatch.setitem(app.config, "REALWORLD_LIST_BODIES", True)
    for path in ("/articles", "/articles?author=jake"):
        listed = api.get(path).get_json()["articles"]
        assert listed == [created]
        check_article(listed[0])


def test_list_articles_when_there_are_none(api):
    assert api.get("/articles").get_json() == {"articles": [], "articlesCount": 0}


def test_list_articles_pages_with_limit_and_offset(api, make):
    for _ in range(25):
        make.post()
    everything = api.get("/articles").get_json()
    assert everything["articlesCount"] == 25
    assert len(everything["articles"]) == 20  # the default limit
    slugs = [a["slug"] for a in api.get("/articles?limit=25").get_json()["articles"]]
    assert len(slugs) == 25
    assert slugs[:20] == [a["slug"] for a in everything["articles"]]
    window = api.get("/articles?limit=3&offset=5").get_json()
    assert window["articlesCount"] == 25
    assert [a["slug"] for a in window["articles"]] == slugs[5:8]
    tail = api.get("/articles?limit=10&offset=20").get_json()
    assert [a["slug"] for a in tail["articles"]] == slugs[20:]
    beyond = api.get("/articles?offset=100").get_json()
    assert beyond == {"articles": [], "articlesCount": 25}


def test_list_articles_caps_the_limit(api, make, app):
    with app.app_context():
        from tests.factories import PostFactory, UserFactory

        author = UserFactory()
        PostFactory.create_batch(101, author=author)
    payload = api.get("/articles?limit=1000").get_json()
    assert payload["articlesCount"] == 101
    assert len(payload["articles"]) == 100


@pytest.mark.parametrize(
    "query",
    ["limit=abc", "limit=0", "limit=-1", "limit=1.5", "offset=-1", "offset=x", "limit=1e3"],
)
def test_list_articles_rejects_bad_limit_and_offset(api, query):
    name = query.split("=")[0]
    check_errors(api.get(f"/articles?{query}"), 422, name)
    check_errors(api.get(f"/articles/feed?{query}"), 401)  # auth is checked first


def test_filter_by_tag_author_and_favorited(api, jake, celeb):
    dragons = api.create_article(jake["token"], title="Dragons", tagList=["dragons"])
    cats = api.create_article(jake["token"], title="Cats", tagList=["cats"])
    celebs = api.create_article(celeb["token"], title="Celeb", tagList=["dragons", "fame"])
    api.post(f"/articles/{cats['slug']}/favorite", celeb["token"])
    api.post(f"/articles/{celebs['slug']}/favorite", celeb["token"])

    def slugs(query: str) -> list[str]:
        payload = api.get(f"/articles?{query}").get_json()
        check_articles(payload)
        assert payload["articlesCount"] == len(payload["articles"])
        return [a["slug"] for a in payload["articles"]]

    assert slugs("tag=dragons") == [celebs["slug"], dragons["slug"]]
    assert slugs("tag=Dragons") == [celebs["slug"], dragons["slug"]]
    assert slugs("author=jake") == [cats["slug"], dragons["slug"]]
    assert slugs("favorited=celeb") == [celebs["slug"], cats["slug"]]
    assert slugs("favorited=jake") == []
    assert slugs("tag=dragons&author=jake") == [dragons["slug"]]
    assert slugs("tag=dragons&favorited=celeb") == [celebs["slug"]]
    assert slugs("author=nobody") == []
    assert slugs("favorited=nobody") == []
    assert slugs("tag=unknown") == []
    assert slugs("tag=&author=") == [celebs["slug"], cats["slug"], dragons["slug"]]


def test_favorited_and_following_reflect_the_caller_in_lists(api, jake, celeb, make):
    art = api.create_article(celeb["token"], title="Celeb art")
    api.post(f"/articles/{art['slug']}/favorite", jake["token"])
    api.post("/profiles/celeb/follow", jake["token"])

    as_jake = api.get("/articles", jake["token"]).get_json()["articles"][0]
    assert (as_jake["favorited"], as_jake["favoritesCount"]) == (True, 1)
    assert as_jake["author"]["following"] is True
    as_celeb = api.get("/articles", celeb["token"]).get_json()["articles"][0]
    assert (as_celeb["favorited"], as_celeb["favoritesCount"]) == (False, 1)
    assert as_celeb["author"]["following"] is False
    anonymous = api.get("/articles").get_json()["articles"][0]
    assert (anonymous["favorited"], anonymous["author"]["following"]) == (False, False)
    single = api.get(f"/articles/{art['slug']}", jake["token"]).get_json()["article"]
    assert (single["favorited"], single["author"]["following"]) == (True, True)


def test_list_articles_runs_a_constant_number_of_queries(
    api, app, jake, count_queries, monkeypatch
):
    """Authors, tags, counts, favorited and following load in bulk, whatever the page size.
    The shared page of articles is built every time here (the cache has tests of its own)."""
    monkeypatch.setitem(app.config, "PAGE_CACHE_ENABLED", False)
    from penpress.accounts.models import Follow
    from penpress.accounts.services import get_user
    from penpress.blog.models import Favorite
    from penpress.blog.services.tags import resolve_tags
    from tests.factories import PostFactory, UserFactory, recount_for_tests

    def seed(n: int) -> None:
        with app.app_context():
            me = get_user(None, "jake")
            for i in range(n):
                post = PostFactory(author=UserFactory())
                post.tags = resolve_tags([f"tag{i}", "shared"])
                db.session.add(Favorite(user_id=me.id, post_id=post.id))
                db.session.add(Follow(follower_id=me.id, followed_id=post.author_id))
                db.session.commit()
            recount_for_tests()  # rows made without the services that keep the counters

    def measure(path: str) -> int:
        with count_queries() as queries:
            response = api.get(path, jake["token"])
        assert response.status_code == 200
        return len(queries)

    seed(2)
    small = {path: measure(path) for path in ("/articles", "/articles/feed")}
    seed(15)
    payload = api.get("/articles", jake["token"]).get_json()
    assert payload["articlesCount"] == 17
    assert all(a["favorited"] and a["author"]["following"] for a in payload["articles"])
    assert all(a["tagList"] and a["favoritesCount"] == 1 for a in payload["articles"])
    assert measure("/articles") == small["/articles"]
    assert measure("/articles/feed") == small["/articles/feed"]
    assert measure("/articles?tag=shared") == small["/articles"]
    assert measure("/articles?favorited=jake") == small["/articles"]
    assert small["/articles"] <= 8


def test_a_page_of_articles_with_a_token_reads_without_a_transaction(api, app, jake, celeb):
    """A list or feed with a token needs only the caller's id for its flags: the token is
    checked and the flags read as committed, so the request never begins the session's
    transaction (on PostgreSQL: no second pool checkout, BEGIN or COMMIT). Once the shared
    pages are built, nothing else loads the caller."""
    art = api.create_article(celeb["token"], title="Celeb art")
    api.post(f"/articles/{art['slug']}/favorite", jake["token"])
    api.post("/profiles/celeb/follow", jake["token"])
    for path in ("/articles", "/articles/feed"):
        api.get(path, jake["token"])  # builds the shared page (that reads in a transaction)
    began: list[object] = []

    def on_begin(*_args: object) -> None:
        began.append(True)

    event.listen(db.session, "after_begin", on_begin)
    try:
        for path in ("/articles", "/articles/feed"):
            (article,) = api.get(path, jake["token"]).get_json()["articles"]
            assert (article["favorited"], article["author"]["following"]) == (True, True)
        assert began == []
        api.get(f"/articles/{art['slug']}", jake["token"])  # loads the caller: a transaction
        assert began
    finally:
        event.remove(db.session, "after_begin", on_begin)


def test_a_revoked_or_deactivated_token_gets_no_page_of_articles(api, app, jake):
    """The check without loading the caller refuses what the full one refuses."""
    for path in ("/articles", "/articles/feed"):
        assert api.get(path, jake["token"]).status_code == 200
    with app.app_context():
        user = accounts.get_user(None, "jake")
        user.active = False
        db.session.commit()
    for path in ("/articles", "/articles/feed"):
        check_errors(api.get(path, jake["token"]), 401)
    with app.app_context():
        user = db.session.scalars(select(User).where(User.username == "jake")).one()
        user.active = True
        sessions.end_all_sessions(user)
        db.session.commit()
    for path in ("/articles", "/articles/feed"):
        check_errors(api.get(path, jake["token"]), 401)


# --- feed --------------------------------------------------------------------------------------


def test_feed_shows_only_followed_authors(api, jake, celeb, make):
    other = api.user("other")
    celeb_art = api.create_article(celeb["token"], title="Celeb article")
    api.create_article(other["token"], title="Other article")
    api.create_article(jake["token"], title="Own article")

    empty = api.get("/articles/feed", jake["token"])
    assert empty.status_code == 200
    assert empty.get_json() == {"articles": [], "articlesCount": 0}

    api.post("/profiles/celeb/follow", jake["token"])
    payload = api.get("/articles/feed", jake["token"]).get_json()
    check_articles(payload)
    assert payload["articlesCount"] == 1
    assert [a["slug"] for a in payload["articles"]] == [celeb_art["slug"]]
    assert payload["articles"][0]["author"]["following"] is True

    later = api.create_article(celeb["token"], title="Celeb later")
    paged = api.get("/articles/feed?limit=1&offset=0", jake["token"]).get_json()
    assert paged["articlesCount"] == 2
    assert [a["slug"] for a in paged["articles"]] == [later["slug"]]
    second = api.get("/articles/feed?limit=1&offset=1", jake["token"]).get_json()
    assert [a["slug"] for a in second["articles"]] == [celeb_art["slug"]]

    api.delete("/profiles/celeb/follow", jake["token"])
    assert api.get("/articles/feed", jake["token"]).get_json()["articlesCount"] == 0


def test_feed_hides_drafts_of_followed_authors(api, jake, make):
    author = make.user(username="drafter")
    make.post(author=author, published=False)
    api.post("/profiles/drafter/follow", jake["token"])
    assert api.get("/articles/feed", jake["token"]).get_json()["articlesCount"] == 0


def test_feed_needs_a_token(api):
    check_errors(api.get("/articles/feed"), 401)
    check_errors(api.get("/articles/feed", "bad.token.here"), 401)


# --- update ------------------------------------------------------------------------------------


def test_update_article_title_changes_the_slug(api, jake):
    created = api.create_article(jake["token"])
    response = api.put(
        f"/articles/{created['slug']}",
        jake["token"],
        json={"article": {"title": "Did you train your dragon?"}},
    )
    assert response.status_code == 200
    article = response.get_json()["article"]
    check_article(article)
    assert article["slug"] == "did-you-train-your-dragon"
    assert article["title"] == "Did you train your dragon?"
    assert article["description"] == created["description"]
    assert article["body"] == created["body"]
    assert article["tagList"] == created["tagList"]
    assert article["createdAt"] == created["createdAt"]
    assert _parse(article["updatedAt"]) >= _parse(created["updatedAt"])
    check_errors(api.get(f"/articles/{created['slug']}"), 404)
    assert api.get("/articles/did-you-train-your-dragon").get_json()["article"] == article


def test_update_article_description_body_and_tags(api, jake):
    created = api.create_article(jake["token"])
    response = api.put(
        f"/articles/{created['slug']}",
        jake["token"],
        json={"article": {"description": "New", "body": "New body", "tagList": ["b", "a"]}},
    )
    article = response.get_json()["article"]
    assert (article["slug"], article["description"], article["body"]) == (
        created["slug"],
        "New",
        "New body",
    )
    assert article["tagList"] == ["a", "b"]


def test_update_article_keeps_tags_when_not_sent(api, jake):
    created = api.create_article(jake["token"])
    article = api.put(
        f"/articles/{created['slug']}", jake["token"], json={"article": {"body": "Changed"}}
    ).get_json()["article"]
    assert article["tagList"] == ["dragons", "training"]


def test_update_article_with_the_same_title_keeps_the_slug(api, jake):
    created = api.create_article(jake["token"])
    article = api.put(
        f"/articles/{created['slug']}", jake["token"], json={"article": {"title": created["title"]}}
    ).get_json()["article"]
    assert article["slug"] == created["slug"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("title", ""), ("title", None), ("description", " "), ("body", ""), ("body", 5)],
)
def test_update_article_rejects_blank_or_wrong_values(api, jake, field, value):
    created = api.create_article(jake["token"])
    response = api.put(
        f"/articles/{created['slug']}", jake["token"], json={"article": {field: value}}
    )
    check_errors(response, 422, field)
    assert api.get(f"/articles/{created['slug']}").get_json()["article"] == created


def test_update_article_without_an_article_object_is_422(api, jake):
    created = api.create_article(jake["token"])
    check_errors(
        api.put(f"/articles/{created['slug']}", jake["token"], json={"title": "x"}), 422, "article"
    )


def test_update_someone_elses_article_is_403(api, jake, celeb):
    created = api.create_article(jake["token"])
    response = api.put(
        f"/articles/{created['slug']}", celeb["token"], json={"article": {"title": "Mine now"}}
    )
    check_errors(response, 403)
    assert (
        api.get(f"/articles/{created['slug']}").get_json()["article"]["title"] == created["title"]
    )


def test_update_article_errors(api, jake):
    created = api.create_article(jake["token"])
    check_errors(api.put(f"/articles/{created['slug']}", json={"article": {"title": "x"}}), 401)
    check_errors(api.put("/articles/nope", jake["token"], json={"article": {"title": "x"}}), 404)


# --- delete ------------------------------------------------------------------------------------


def test_delete_article(api, jake):
    created = api.create_article(jake["token"])
    response = api.delete(f"/articles/{created['slug']}", jake["token"])
    assert response.status_code == 204
    assert response.get_data() == b""
    check_errors(api.get(f"/articles/{created['slug']}"), 404)
    check_errors(api.delete(f"/articles/{created['slug']}", jake["token"]), 404)
    assert api.get("/articles").get_json()["articlesCount"] == 0


def test_delete_someone_elses_article_is_403(api, jake, celeb):
    created = api.create_article(jake["token"])
    check_errors(api.delete(f"/articles/{created['slug']}", celeb["token"]), 403)
    assert api.get(f"/articles/{created['slug']}").status_code == 200


def test_delete_article_errors(api, jake):
    created = api.create_article(jake["token"])
    check_errors(api.delete(f"/articles/{created['slug']}"), 401)
    check_errors(api.delete("/articles/nope", jake["token"]), 404)
    assert api.get(f"/articles/{created['slug']}").status_code == 200  # still there


def test_an_admin_may_delete_any_article(api, app, make, jake):
    created = api.create_article(jake["token"])
    make.user(username="boss", role_name="admin")
    token = api.post(
        "/users/login",
        json={"user": {"email": "boss@example.com", "password": "correct-horse-battery"}},
    ).get_json()["user"]["token"]
    assert api.delete(f"/articles/{created['slug']}", token).status_code == 204
    with app.app_context():
        assert db.session.scalar(select(Post.id).where(Post.slug == created["slug"])) is None


# --- favorites ---------------------------------------------------------------------------------


def test_favorite_and_unfavorite(api, jake, celeb):
    created = api.create_article(jake["token"])
    path = f"/articles/{created['slug']}/favorite"

    response = api.post(path, celeb["token"])
    assert response.status_code == 200
    article = response.get_json()["article"]
    check_article(article)
    assert (article["favorited"], article["favoritesCount"]) == (True, 1)

    again = api.post(path, celeb["token"]).get_json()["article"]
    assert (again["favorited"], again["favoritesCount"]) == (True, 1)

    by_jake = api.post(path, jake["token"]).get_json()["article"]
    assert (by_jake["favorited"], by_jake["favoritesCount"]) == (True, 2)

    anonymous = api.get(f"/articles/{created['slug']}").get_json()["article"]
    assert (anonymous["favorited"], anonymous["favoritesCount"]) == (False, 2)

    removed = api.delete(path, celeb["token"])
    assert removed.status_code == 200
    article = removed.get_json()["article"]
    check_article(article)
    assert (article["favorited"], article["favoritesCount"]) == (False, 1)
    again = api.delete(path, celeb["token"]).get_json()["article"]
    assert (again["favorited"], again["favoritesCount"]) == (False, 1)
    favorited = api.get("/articles?favorited=celeb").get_json()
    assert favorited == {"articles": [], "articlesCount": 0}


def test_favorite_errors(api, jake):
    created = api.create_article(jake["token"])
    check_errors(api.post(f"/articles/{created['slug']}/favorite"), 401)
    check_errors(api.delete(f"/articles/{created['slug']}/favorite"), 401)
    check_errors(api.post("/articles/nope/favorite", jake["token"]), 404)
    check_errors(api.delete("/articles/nope/favorite", jake["token"]), 404)


def test_favorite_someone_elses_draft_is_404(api, make, jake):
    make.post(slug="a-draft", published=False)
    check_errors(api.post("/articles/a-draft/favorite", jake["token"]), 404)


def test_timestamps_come_from_the_post(api, app, jake):
    created = api.create_article(jake["token"])
    with app.app_context():
        post = db.session.scalar(db.select(Post).filter_by(slug=created["slug"]))
        assert post is not None
        assert _parse(created["createdAt"]) == post.published_at.replace(
            microsecond=post.published_at.microsecond // 1000 * 1000
        )
