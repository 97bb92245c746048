"""Comments: GET/POST /articles/:slug/comments, DELETE /articles/:slug/comments/:id."""

from __future__ import annotations

import pytest

from penpress.blog.models import Comment
from penpress.extensions import db
from penpress.settings.services import set_comments_require_approval
from tests.api.realworld.shapes import check_comment, check_errors
from tests.factories import UserFactory


@pytest.fixture
def article(api, jake):
    return api.create_article(jake["token"])


@pytest.fixture
def open_comments(app):
    """Comments appear without waiting for a moderator (the site's setting, switched off as an
    admin does, so the cached settings are dropped too: writing an article reads them)."""
    with app.app_context():
        set_comments_require_approval(UserFactory(role_name="admin", username="site-admin"), False)
        db.session.commit()


def _comment(api, slug, token, body="His name was my name too."):
    return api.post(f"/articles/{slug}/comments", token, json={"comment": {"body": body}})


def test_add_comment_returns_the_comment(api, article, celeb, open_comments):
    response = _comment(api, article["slug"], celeb["token"])
    assert response.status_code == 200  # the spec's CreateArticleComment answers 200
    comment = response.get_json()["comment"]
    check_comment(comment)
    assert comment["body"] == "His name was my name too."
    assert comment["author"] == {"username": "celeb", "bio": "", "image": None, "following": False}
    assert comment["createdAt"] == comment["updatedAt"]


def test_list_comments_oldest_first_with_following_per_caller(
    api, article, jake, celeb, open_comments
):
    first = _comment(api, article["slug"], celeb["token"], "First").get_json()["comment"]
    second = _comment(api, article["slug"], jake["token"], "Second").get_json()["comment"]
    api.post("/profiles/celeb/follow", jake["token"])

    anonymous = api.get(f"/articles/{article['slug']}/comments")
    assert anonymous.status_code == 200
    payload = anonymous.get_json()
    assert set(payload) == {"comments"}
    for comment in payload["comments"]:
        check_comment(comment)
    assert [c["id"] for c in payload["comments"]] == [first["id"], second["id"]]
    assert [c["body"] for c in payload["comments"]] == ["First", "Second"]
    assert [c["author"]["following"] for c in payload["comments"]] == [False, False]

    as_jake = api.get(f"/articles/{article['slug']}/comments", jake["token"]).get_json()
    assert [c["author"]["following"] for c in as_jake["comments"]] == [True, False]
    assert as_jake["comments"][0] == first | {"author": first["author"] | {"following": True}}


def test_list_comments_of_an_article_without_any(api, article):
    assert api.get(f"/articles/{article['slug']}/comments").get_json() == {"comments": []}


def test_comments_wait_for_approval_when_the_site_asks(api, article, jake, celeb):
    """The site's moderation rule holds here too: the writer and the author see it, others not."""
    pending = _comment(api, article["slug"], celeb["token"]).get_json()["comment"]
    other = api.user("other")
    path = f"/articles/{article['slug']}/comments"
    assert api.get(path).get_json() == {"comments": []}
    assert api.get(path, other["token"]).get_json() == {"comments": []}
    assert [c["id"] for c in api.get(path, celeb["token"]).get_json()["comments"]] == [
        pending["id"]
    ]
    assert [c["id"] for c in api.get(path, jake["token"]).get_json()["comments"]] == [pending["id"]]
    # the article's author is trusted: no wait
    own = _comment(api, article["slug"], jake["token"], "Author here").get_json()["comment"]
    assert [c["id"] for c in api.get(path).get_json()["comments"]] == [own["id"]]


@pytest.mark.parametrize(
    "body",
    [
        {"comment": {}},
        {"comment": {"body": ""}},
        {"comment": {"body": "   "}},
        {"comment": {"body": None}},
        {"comment": {"body": 12}},
        {"comment": {"body": "x" * 5001}},
    ],
)
def test_add_comment_validates_the_body(api, article, celeb, body):
    check_errors(
        api.post(f"/articles/{article['slug']}/comments", celeb["token"], json=body), 422, "body"
    )


@pytest.mark.parametrize("body", [{}, {"body": "x"}, {"comment": "x"}, None])
def test_add_comment_without_a_comment_object_is_422(api, article, celeb, body):
    response = api.post(f"/articles/{article['slug']}/comments", celeb["token"], json=body)
    check_errors(response, 422, "comment")


def test_add_comment_errors(api, article, celeb, make):
    check_errors(_comment(api, article["slug"], None), 401)
    check_errors(_comment(api, "nope", celeb["token"]), 404)
    make.post(slug="a-draft", published=False)
    check_errors(_comment(api, "a-draft", celeb["token"]), 404)


def test_list_comments_of_an_unknown_article_is_404(api):
    check_errors(api.get("/articles/nope/comments"), 404)


def test_delete_own_comment(api, article, celeb, open_comments):
    comment = _comment(api, article["slug"], celeb["token"]).get_json()["comment"]
    response = api.delete(f"/articles/{article['slug']}/comments/{comment['id']}", celeb["token"])
    assert response.status_code == 204
    assert response.get_data() == b""
    assert api.get(f"/articles/{article['slug']}/comments").get_json() == {"comments": []}
    again = api.delete(f"/articles/{article['slug']}/comments/{comment['id']}", celeb["token"])
    check_errors(again, 404)


def test_delete_someone_elses_comment_is_403(api, article, jake, celeb, open_comments):
    comment = _comment(api, article["slug"], celeb["token"]).get_json()["comment"]
    other = api.user("other")
    path = f"/articles/{article['slug']}/comments/{comment['id']}"
    check_errors(api.delete(path, other["token"]), 403)
    # Being the article's author does not make someone else's comment yours.
    check_errors(api.delete(path, jake["token"]), 403)
    assert len(api.get(f"/articles/{article['slug']}/comments").get_json()["comments"]) == 1


def test_a_moderator_may_delete_any_comment(api, app, article, celeb, make, open_comments):
    comment = _comment(api, article["slug"], celeb["token"]).get_json()["comment"]
    make.user(username="mod", role_name="moderator")
    token = api.post(
        "/users/login",
        json={"user": {"email": "mod@example.com", "password": "correct-horse-battery"}},
    ).get_json()["user"]["token"]
    response = api.delete(f"/articles/{article['slug']}/comments/{comment['id']}", token)
    assert response.status_code == 204
    with app.app_context():
        assert db.session.get(Comment, comment["id"]) is None


def test_delete_comment_errors(api, article, jake, celeb, open_comments):
    comment = _comment(api, article["slug"], celeb["token"]).get_json()["comment"]
    other_article = api.create_article(jake["token"], title="Another one")
    check_errors(api.delete(f"/articles/{article['slug']}/comments/{comment['id']}"), 401)
    check_errors(api.delete(f"/articles/{article['slug']}/comments/999999", celeb["token"]), 404)
    check_errors(api.delete(f"/articles/nope/comments/{comment['id']}", celeb["token"]), 404)
    # the comment exists, but not on that article
    wrong = api.delete(
        f"/articles/{other_article['slug']}/comments/{comment['id']}", celeb["token"]
    )
    check_errors(wrong, 404)
    check_errors(api.delete(f"/articles/{article['slug']}/comments/abc", celeb["token"]), 404)
    assert len(api.get(f"/articles/{article['slug']}/comments").get_json()["comments"]) == 1


def test_list_comments_runs_a_constant_number_of_queries(
    api, article, jake, count_queries, open_comments
):
    def measure() -> int:
        with count_queries() as queries:
            response = api.get(f"/articles/{article['slug']}/comments", jake["token"])
        assert response.status_code == 200
        return len(queries)

    for n in range(2):
        user = api.user(f"fan{n}")
        _comment(api, article["slug"], user["token"])
    small = measure()
    for n in range(2, 12):
        user = api.user(f"fan{n}")
        _comment(api, article["slug"], user["token"])
        api.post(f"/profiles/fan{n}/follow", jake["token"])
    assert len(api.get(f"/articles/{article['slug']}/comments").get_json()["comments"]) == 12
    assert measure() == small
