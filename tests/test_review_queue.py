"""The review queue, end to end: a contributor writes and submits, an editor sends it back with a
note, the contributor changes it and submits again, the editor publishes; the writer is emailed
each decision. Through the site, ``/api/v1`` and (for writing) the Conduit API."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from penpress.blog.models import Post
from penpress.blog.services.posts import CANNOT_PUBLISH, PUBLISHED_IS_LOCKED
from penpress.extensions import db
from tests.api.v1.conftest import issue_pair
from tests.mailbox import links_in
from tests.pages import login

ARTICLE = {"title": "My first story", "description": "A try.", "body": "Once upon a time."}


def post_titled(app: Flask, title: str) -> Post:
    with app.app_context():
        post = db.session.scalar(select(Post).where(Post.title == title))
        assert post is not None
        return post


def bearer(app: Flask, user: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_pair(app, user).access_token}"}


def test_contributor_and_editor_through_the_site(app: Flask, make, outbox: list[Any]) -> None:
    contributor = make.user(username="cora", role_name="contributor")
    editor = make.user(username="eddie", role_name="editor")
    writer, desk, reader = app.test_client(), app.test_client(), app.test_client()
    login(writer, contributor.email)
    login(desk, editor.email)

    # The editor page offers "Submit for review", not "Published".
    form = writer.get("/blog/create").get_data(as_text=True)
    assert 'name="submit_for_review"' in form
    assert 'name="published"' not in form
    # A contributor cannot publish, even by sending the field.
    refused = writer.post(
        "/blog/create", data={"title": "Sneaky", "body": "Text", "published": "y"}
    )
    assert refused.status_code == 403
    assert escape(CANNOT_PUBLISH) in refused.get_data(as_text=True)

    # 1. Write and submit.
    created = writer.post(
        "/blog/create",
        data={"title": "Night trains", "body": "Slow travel.", "submit_for_review": "y"},
    )
    assert created.status_code == 303
    url = created.headers["Location"]
    post = post_titled(app, "Night trains")
    assert (post.status, post.published, post.submitted_at is not None) == (
        "submitted",
        False,
        True,
    )
    assert reader.get(url).status_code == 404  # not for readers yet
    assert "Waiting for an editor" in writer.get(url).get_data(as_text=True)

    # 2. The editor sees it in the queue and sends it back with a note.
    queue = desk.get("/admin/review").get_data(as_text=True)
    assert "Night trains" in queue
    assert f'action="/admin/review/{post.id}/return' in queue
    assert writer.get("/admin/review").status_code == 403
    empty_note = desk.post(f"/admin/review/{post.id}/return", data={"note": "  "})
    assert empty_note.status_code == 422
    sent_back = desk.post(
        f"/admin/review/{post.id}/return", data={"note": "Add a photo of the sleeper car."}
    )
    assert sent_back.status_code == 303
    (returned_mail,) = outbox
    assert returned_mail.to == [contributor.email]
    assert returned_mail.subject == "Your post “Night trains” was sent back with a note"
    assert "Add a photo of the sleeper car." in returned_mail.body
    assert f"http://localhost/blog/edit/{post.id}" in links_in(returned_mail)
    assert f'action="/admin/review/{post.id}/' not in desk.get("/admin/review").get_data(
        as_text=True
    )

    # 3. The writer sees the state and the note, edits and submits again.
    mine = writer.get("/blog/my-posts").get_data(as_text=True)
    assert "Returned" in mine
    assert "Add a photo of the sleeper car." in mine
    editor_page = writer.get(f"/blog/edit/{post.id}").get_data(as_text=True)
    assert "Sent back by an editor" in editor_page
    assert 'name="submit_for_review"' in editor_page
    resubmitted = writer.post(
        f"/blog/edit/{post.id}",
        data={"title": "Night trains", "body": "Slow travel. ![car](https://example.com/c.jpg)",
              "submit_for_review": "y"},
    )  # fmt: skip
    assert resubmitted.status_code == 303
    assert post_titled(app, "Night trains").status == "submitted"

    # 4. The editor publishes; the writer is told, readers see it.
    published = desk.post(f"/admin/review/{post.id}/publish")
    assert published.status_code == 303
    post = post_titled(app, "Night trains")
    assert (post.status, post.published, post.review_note) == ("published", True, None)
    assert post.published_at is not None
    assert [m.subject for m in outbox[1:]] == ["Your post “Night trains” is published"]
    assert reader.get(url).status_code == 200
    assert "Night trains" in reader.get("/").get_data(as_text=True)

    # 5. Once published, the contributor cannot change it (they may still delete it).
    locked = writer.post(f"/blog/edit/{post.id}", data={"title": "Spam", "body": "Buy pills"})
    assert locked.status_code == 403
    assert escape(PUBLISHED_IS_LOCKED) in locked.get_data(as_text=True)
    assert post_titled(app, "Night trains").body.startswith("Slow travel.")


def test_a_rejected_post_cannot_come_back(app: Flask, make, outbox: list[Any]) -> None:
    contributor = make.user(role_name="contributor")
    post = make.post(author=contributor, published=False, status="submitted", title="Ads")
    desk = app.test_client()
    login(desk, make.user(role_name="editor").email)
    assert (
        desk.post(f"/admin/review/{post.id}/reject", data={"note": "Off topic."}).status_code == 303
    )
    (mail,) = outbox
    assert mail.subject == "Your post “Ads” was not accepted"
    assert "Off topic." in mail.body
    writer = app.test_client()
    login(writer, contributor.email)
    assert writer.post(f"/blog/submit/{post.id}").status_code == 409
    # Deciding on a post that is not waiting is a conflict.
    assert desk.post(f"/admin/review/{post.id}/publish").status_code == 409


@pytest.mark.parametrize("role", ["reader", "contributor", "author", "moderator"])
def test_only_editors_and_admins_work_the_queue(
    app: Flask, client: FlaskClient, make, role: str
) -> None:
    post = make.post(published=False, status="submitted")
    login(client, make.user(role_name=role).email)
    assert client.get("/admin/review").status_code == 403
    assert client.post(f"/admin/review/{post.id}/publish").status_code == 403
    assert post_titled(app, post.title).published is False


def test_an_editor_edits_and_publishes_anyones_post(app: Flask, client: FlaskClient, make) -> None:
    post = make.post(published=False, title="Someone's draft")
    login(client, make.user(role_name="editor").email)
    assert client.get(f"/blog/post/{post.slug}").status_code == 200
    response = client.post(
        f"/blog/edit/{post.id}",
        data={"title": "Someone's draft", "body": "Edited", "published": "y"},
    )
    assert response.status_code == 303
    saved = post_titled(app, "Someone's draft")
    assert (saved.body, saved.published, saved.status) == ("Edited", True, "published")


def test_the_review_queue_through_the_api(app: Flask, client: FlaskClient, make, outbox) -> None:
    contributor = make.user(role_name="contributor")
    writer, desk = bearer(app, contributor), bearer(app, make.user(role_name="editor"))

    refused = client.post(
        "/api/v1/posts", json={"title": "T", "body": "B", "published": True}, headers=writer
    )
    assert refused.status_code == 403
    assert refused.get_json()["error"]["message"] == CANNOT_PUBLISH
    draft = client.post("/api/v1/posts", json={"title": "T", "body": "B"}, headers=writer)
    assert draft.status_code == 201
    slug = draft.get_json()["slug"]
    patched = client.patch(f"/api/v1/posts/{slug}", json={"published": True}, headers=writer)
    assert patched.status_code == 403

    submitted = client.post(f"/api/v1/posts/{slug}/submit", headers=writer)
    assert submitted.status_code == 200
    assert submitted.get_json()["status"] == "submitted"
    queue = client.get("/api/v1/review", headers=desk)
    assert [p["slug"] for p in queue.get_json()["posts"]] == [slug]
    assert client.get("/api/v1/review", headers=writer).status_code == 403

    no_note = client.post(f"/api/v1/review/{slug}/return", json={}, headers=desk)
    assert no_note.status_code == 422
    returned = client.post(
        f"/api/v1/review/{slug}/return", json={"note": "Longer, please."}, headers=desk
    )
    assert returned.status_code == 200
    assert (returned.get_json()["status"], returned.get_json()["review_note"]) == (
        "returned",
        "Longer, please.",
    )
    mine = client.get(f"/api/v1/posts/{slug}", headers=writer).get_json()
    assert (mine["status"], mine["review_note"]) == ("returned", "Longer, please.")

    client.patch(f"/api/v1/posts/{slug}", json={"body": "B, longer."}, headers=writer)
    client.post(f"/api/v1/posts/{slug}/submit", headers=writer)
    published = client.post(f"/api/v1/review/{slug}/publish", headers=desk)
    assert published.status_code == 200
    assert (published.get_json()["status"], published.get_json()["published"]) == (
        "published",
        True,
    )
    assert client.post(f"/api/v1/review/{slug}/publish", headers=desk).status_code == 409
    assert [m.subject for m in outbox] == [
        "Your post “T” was sent back with a note",
        "Your post “T” is published",
    ]
    assert client.get(f"/api/v1/posts/{slug}").status_code == 200


def test_conduit_articles_of_a_contributor_wait_for_review(
    app: Flask, client: FlaskClient, make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Conduit site with ``DEFAULT_ROLE=contributor``: articles are submissions."""
    monkeypatch.setitem(app.config, "DEFAULT_ROLE", "contributor")
    registered = client.post(
        "/realworld/api/users",
        json={"user": {"username": "cora", "email": "cora@example.com", "password": "pw-123456"}},
    )
    token = {"Authorization": f"Token {registered.get_json()['user']['token']}"}
    created = client.post("/realworld/api/articles", json={"article": ARTICLE}, headers=token)
    assert created.status_code == 201
    slug = created.get_json()["article"]["slug"]
    assert client.get("/realworld/api/articles").get_json()["articlesCount"] == 0
    assert client.get(f"/realworld/api/articles/{slug}").status_code == 404
    assert client.get(f"/realworld/api/articles/{slug}", headers=token).status_code == 200
    assert post_titled(app, ARTICLE["title"]).status == "submitted"


def test_conduit_refuses_a_reader_in_its_own_error_shape(client: FlaskClient, make) -> None:
    registered = client.post(
        "/realworld/api/users",
        json={"user": {"username": "rita", "email": "rita@example.com", "password": "pw-123456"}},
    )
    assert registered.status_code == 201  # the site's default role: reader
    token = {"Authorization": f"Token {registered.get_json()['user']['token']}"}
    response = client.post("/realworld/api/articles", json={"article": ARTICLE}, headers=token)
    assert response.status_code == 403
    assert response.get_json() == {"errors": {"body": ["You are not allowed to do that."]}}


def test_the_queue_costs_the_same_queries_for_any_number_of_posts(
    client: FlaskClient, make, page_queries
) -> None:
    login(client, make.user(role_name="editor").email)
    make.post(published=False, status="submitted", tags=["one"])
    few = page_queries(client, "/admin/review")
    for n in range(8):
        make.post(published=False, status="submitted", tags=[f"t{n}", "x"])
    assert page_queries(client, "/admin/review") == few


def test_the_dashboard_shows_editors_what_waits_for_review(client: FlaskClient, make) -> None:
    make.post(published=False, status="submitted")
    login(client, make.user(role_name="editor").email)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert 'href="/admin/review"' in response.text
