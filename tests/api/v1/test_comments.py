"""Comments through the API: reading, writing, moderation, deletion."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from penpress.extensions import cache, db
from penpress.settings import services as admin_services
from tests.api.v1.conftest import AuthHeaders, error_of
from tests.conftest import Make


def comments_url(post: Any) -> str:
    return f"/api/v1/posts/{post.slug}/comments"


def bodies(client: FlaskClient, post: Any, headers: dict[str, str] | None = None) -> list[str]:
    response = client.get(comments_url(post), headers=headers or {})
    assert response.status_code == 200
    return [c["body"] for c in response.get_json()["comments"]]


def test_list_shows_approved_comments_oldest_first(
    app: Flask, client: FlaskClient, make: Make
) -> None:
    with app.app_context():
        post = make.post()
        make.comment(post=post, body="first")
        make.comment(post=post, body="second")
        make.comment(post=post, body="waiting", approved=False)
    response = client.get(comments_url(post))
    (first, second) = response.get_json()["comments"]
    assert first["body"] == "first"
    assert second["body"] == "second"
    assert set(first) == {
        "id", "body", "approved", "created_at", "updated_at", "author", "post_slug",
    }  # fmt: skip
    assert first["post_slug"] == post.slug
    assert "email" not in first["author"]
    assert response.headers["ETag"]


def test_pending_comments_show_to_moderators_post_author_and_writer(
    app: Flask, client: FlaskClient, make: Make, auth_headers: AuthHeaders
) -> None:
    with app.app_context():
        author = make.user()
        writer = make.user()
        post = make.post(author=author)
        make.comment(post=post, author=writer, body="waiting", approved=False)
    assert bodies(client, post) == []
    assert bodies(client, post, auth_headers()) == []
    assert bodies(client, post, auth_headers(writer)) == ["waiting"]
    assert bodies(client, post, auth_headers(author)) == ["waiting"]
    assert bodies(client, post, auth_headers(role_name="moderator")) == ["waiting"]


def test_comments_of_missing_or_draft_post_are_404(client: FlaskClient, make: Make) -> None:
    draft = make.post(published=False)
    assert client.get(comments_url(draft)).status_code == 404
    response = client.get("/api/v1/posts/nope/comments")
    assert response.status_code == 404
    error_of(response)


def test_add_comment_waits_for_approval(
    client: FlaskClient, make: Make, auth_headers: AuthHeaders
) -> None:
    post = make.post()
    response = client.post(comments_url(post), json={"body": "Nice!"}, headers=auth_headers())
    assert response.status_code == 201
    comment = response.get_json()
    assert comment["approved"] is False
    assert comment["body"] == "Nice!"
    assert response.headers["Location"].endswith(f"/api/v1/comments/{comment['id']}")
    assert bodies(client, post) == []
    # Its location answers only those who may see it while it waits.
    location = f"/api/v1/comments/{comment['id']}"
    assert client.get(location).status_code == 404


def test_post_authors_comments_need_no_approval(
    client: FlaskClient, make: Make, auth_headers: AuthHeaders
) -> None:
    author = make.user()
    post = make.post(author=author)
    response = client.post(
        comments_url(post), json={"body": "Thanks"}, headers=auth_headers(author)
    )
    assert response.get_json()["approved"] is True
    assert bodies(client, post) == ["Thanks"]
    assert client.get(f"/api/v1/posts/{post.slug}").get_json()["comment_count"] == 1


def test_comments_appear_at_once_when_the_site_does_not_moderate(
    app: Flask, client: FlaskClient, make: Make, auth_headers: AuthHeaders
) -> None:
    admin = make.user(role_name="admin")
    with app.app_context():
        from penpress.accounts.models import User

        admin_services.set_comments_require_approval(db.session.get_one(User, admin.id), False)
        db.session.commit()
        cache.clear()
    post = make.post()
    response = client.post(comments_url(post), json={"body": "Open"}, headers=auth_headers())
    assert response.get_json()["approved"] is True


def test_add_comment_validation_and_auth(
    client: FlaskClient, make: Make, auth_headers: AuthHeaders
) -> None:
    post = make.post()
    headers = auth_headers()
    empty = client.post(comments_url(post), json={"body": "   "}, headers=headers)
    assert empty.status_code == 422
    assert error_of(empty)["details"] == {"body": ["Comment cannot be empty."]}
    missing = client.post(comments_url(post), json={}, headers=headers)
    assert error_of(missing)["details"] == {"body": ["Missing data for required field."]}
    assert client.post(comments_url(post), data="body=x", headers=headers).status_code == 415
    anonymous = client.post(comments_url(post), json={"body": "hi"})
    assert anonymous.status_code == 401
    error_of(anonymous)
    draft = make.post(published=False)
    assert client.post(comments_url(draft), json={"body": "x"}, headers=headers).status_code == 404


def test_approve_is_for_moderators(
    app: Flask, client: FlaskClient, make: Make, auth_headers: AuthHeaders
) -> None:
    with app.app_context():
        post = make.post()
        comment = make.comment(post=post, approved=False, body="pending")
    url = f"/api/v1/comments/{comment.id}/approve"
    assert client.post(url).status_code == 401
    # The post's author sees the pending comment but may not approve it: that is moderation.
    denied = client.post(url, headers=auth_headers(post.author))
    assert denied.status_code == 403
    error_of(denied)
    assert client.post(url, headers=auth_headers()).status_code == 404  # cannot even see it
    approved = client.post(url, headers=auth_headers(role_name="moderator"))
    assert approved.status_code == 200
    assert approved.get_json()["approved"] is True
    assert bodies(client, post) == ["pending"]
    assert client.get(f"/api/v1/comments/{comment.id}").status_code == 200


def test_delete_comment_by_writer_or_moderator(
    app: Flask, client: FlaskClient, make: Make, auth_headers: AuthHeaders
) -> None:
    with app.app_context():
        writer = make.user()
        post = make.post()
        first = make.comment(post=post, author=writer)
        second = make.comment(post=post, author=writer)
    url = "/api/v1/comments/{}"
    forbidden = client.delete(url.format(first.id), headers=auth_headers())
    assert forbidden.status_code == 403
    error_of(forbidden)
    assert client.delete(url.format(first.id)).status_code == 401
    assert client.delete(url.format(first.id), headers=auth_headers(writer)).status_code == 204
    moderator = auth_headers(role_name="moderator")
    assert client.delete(url.format(second.id), headers=moderator).status_code == 204
    assert client.delete(url.format(second.id), headers=moderator).status_code == 404
    assert bodies(client, post) == []


def test_comment_ids_no_row_can_have_are_404(client: FlaskClient) -> None:
    for path in ("/api/v1/comments/0", "/api/v1/comments/99999999999999999999999",
                 "/api/v1/comments/abc"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 404
        error_of(response)


def test_listing_comments_costs_a_fixed_number_of_queries(
    app: Flask, client: FlaskClient, make: Make, count_queries: Any
) -> None:
    def queries() -> int:
        with count_queries() as statements:
            assert client.get(comments_url(post)).status_code == 200
        return len(statements)

    with app.app_context():  # one context: the factories share one session
        post = make.post()
        make.comment(post=post)
        one = queries()
        for _ in range(6):
            make.comment(post=post)
        assert queries() == one
