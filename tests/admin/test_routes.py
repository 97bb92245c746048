"""Administration pages: comment moderation, user management and site settings."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from penpress.accounts.models import User
from penpress.blog.models import Comment
from penpress.extensions import db
from penpress.settings import services as settings
from tests.pages import is_logged_in, login


def get_comment(app: Flask, comment_id: int) -> Comment | None:
    with app.app_context():
        return db.session.get(Comment, comment_id)


def get_user(app: Flask, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        return user


def as_role(client: FlaskClient, make, role: str) -> User:
    user = make.user(role_name=role)
    assert login(client, user.email).status_code == 303
    return user


# --- access -----------------------------------------------------------------------------------

ADMIN_GETS = ["/admin/users", "/admin/settings"]
MODERATOR_GETS = ["/admin/comments"]


@pytest.mark.parametrize("path", ADMIN_GETS + MODERATOR_GETS)
def test_admin_pages_send_anonymous_visitors_to_login(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


@pytest.mark.parametrize(
    "path",
    [
        "/admin/comments/1/approve",
        "/admin/comments/1/delete",
        "/admin/users/someone/role",
        "/admin/users/someone/active",
        "/admin/settings",
    ],
)
def test_admin_posts_send_anonymous_visitors_to_login(client: FlaskClient, path: str) -> None:
    response = client.post(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


@pytest.mark.parametrize(("role", "path"), [("author", p) for p in ADMIN_GETS + MODERATOR_GETS])
def test_authors_get_403(client: FlaskClient, make, role: str, path: str) -> None:
    as_role(client, make, role)
    response = client.get(path)
    assert response.status_code == 403
    assert "text/html" in response.content_type


@pytest.mark.parametrize("path", ADMIN_GETS)
def test_moderators_cannot_manage_users_or_settings(client: FlaskClient, make, path: str) -> None:
    as_role(client, make, "moderator")
    assert client.get(path).status_code == 403


@pytest.mark.parametrize(("role", "status"), [("moderator", 200), ("admin", 200), ("reader", 403)])
def test_moderation_queue_is_for_moderators_and_admins(
    client: FlaskClient, make, role: str, status: int
) -> None:
    as_role(client, make, role)
    assert client.get("/admin/comments").status_code == status


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("moderator", 200), ("author", 403)])
def test_admin_root_is_the_dashboard(client: FlaskClient, make, role: str, status: int) -> None:
    as_role(client, make, role)
    assert client.get("/admin/").status_code == status


# --- moderation queue -------------------------------------------------------------------------


def test_queue_lists_only_pending_comments(app: Flask, client: FlaskClient, make) -> None:
    with app.app_context():
        post = make.post(title="Commented post")
        make.comment(post=post, body="Waiting for a look", approved=False)
        make.comment(post=post, body="Already visible", approved=True)
    as_role(client, make, "moderator")
    html = client.get("/admin/comments").get_data(as_text=True)
    assert "Waiting for a look" in html
    assert "Already visible" not in html
    assert f'href="/blog/post/{post.slug}"' in html
    assert "1 comment waiting" in html


def test_empty_queue_says_so(client: FlaskClient, make) -> None:
    as_role(client, make, "moderator")
    assert "No comments are waiting." in client.get("/admin/comments").get_data(as_text=True)


def test_queue_is_paginated(app: Flask, client: FlaskClient, make) -> None:
    with app.app_context():
        post = make.post()
        for n in range(23):
            make.comment(post=post, body=f"pending number {n:02d}", approved=False)
    as_role(client, make, "admin")
    first = client.get("/admin/comments").get_data(as_text=True)
    second = client.get("/admin/comments?page=2").get_data(as_text=True)
    assert first.count('class="moderation-item"') == 20
    assert second.count('class="moderation-item"') == 3
    assert 'href="/admin/comments?page=2"' in first
    assert "pending number 00" in first
    assert "pending number 22" in second
    for page in ("abc", "99", "-3", "0", "99999999999999999999999"):
        assert client.get(f"/admin/comments?page={page}").status_code == 200
        assert client.get(f"/admin/users?page={page}").status_code == 200
    assert "pending number 00" in client.get("/admin/comments?page=-3").get_data(as_text=True)


def test_queue_runs_the_same_queries_for_any_number_of_comments(
    app: Flask, client: FlaskClient, make, page_queries
) -> None:
    make.comment(approved=False)
    as_role(client, make, "moderator")
    few = page_queries(client, "/admin/comments")
    with app.app_context():
        for _ in range(10):
            make.comment(post=make.post(), approved=False)
    assert page_queries(client, "/admin/comments") == few


def test_moderator_approves_a_comment(app: Flask, client: FlaskClient, make) -> None:
    comment = make.comment(approved=False)
    as_role(client, make, "moderator")
    response = client.post(f"/admin/comments/{comment.id}/approve?page=2")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/comments?page=2"
    saved = get_comment(app, comment.id)
    assert saved is not None
    assert saved.approved
    assert "Comment approved." in client.get("/admin/comments").get_data(as_text=True)


def test_moderator_deletes_a_comment(app: Flask, client: FlaskClient, make) -> None:
    comment = make.comment(approved=False)
    as_role(client, make, "admin")
    response = client.post(f"/admin/comments/{comment.id}/delete")
    assert response.status_code == 303
    assert get_comment(app, comment.id) is None


def test_queue_delete_buttons_ask_for_confirmation(client: FlaskClient, make) -> None:
    make.comment(approved=False)
    as_role(client, make, "moderator")
    html = client.get("/admin/comments").get_data(as_text=True)
    assert 'data-confirm="Delete this comment for good?"' in html


@pytest.mark.parametrize("action", ["approve", "delete"])
def test_authors_cannot_moderate_even_their_own_comment(
    app: Flask, client: FlaskClient, make, action: str
) -> None:
    with app.app_context():
        comment = make.comment(approved=False)
        email = comment.author.email
    login(client, email)
    response = client.post(f"/admin/comments/{comment.id}/{action}")
    assert response.status_code == 403
    saved = get_comment(app, comment.id)
    assert saved is not None
    assert not saved.approved


@pytest.mark.parametrize("action", ["approve", "delete"])
def test_moderating_a_missing_comment_is_404(client: FlaskClient, make, action: str) -> None:
    as_role(client, make, "moderator")
    response = client.post(f"/admin/comments/999999/{action}")
    assert response.status_code == 404
    assert "text/html" in response.content_type
    assert client.post(f"/admin/comments/{2**31}/{action}").status_code == 404
    assert client.post(f"/admin/comments/{10**30}/{action}").status_code == 404


@pytest.mark.parametrize("action", ["approve", "delete"])
def test_moderation_actions_are_post_only(client: FlaskClient, make, action: str) -> None:
    comment = make.comment(approved=False)
    as_role(client, make, "moderator")
    assert client.get(f"/admin/comments/{comment.id}/{action}").status_code == 405


# --- users ------------------------------------------------------------------------------------


def test_admin_lists_active_and_inactive_users(client: FlaskClient, make) -> None:
    make.user(username="still_here")
    make.user(username="gone_quiet", active=False)
    admin = as_role(client, make, "admin")
    html = client.get("/admin/users").get_data(as_text=True)
    assert "still_here" in html
    assert "gone_quiet" in html
    assert "Reactivate" in html
    assert f"{admin.username}</a></th>" in html
    assert '<label class="visually-hidden" for="role-' in html


def test_admin_changes_a_role(app: Flask, client: FlaskClient, make) -> None:
    user = make.user()
    as_role(client, make, "admin")
    response = client.post(f"/admin/users/{user.username}/role", data={"role": "moderator"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/users?page=1"
    assert get_user(app, user.id).role.name == "moderator"


def test_unknown_role_is_a_validation_error(app: Flask, client: FlaskClient, make) -> None:
    user = make.user()
    as_role(client, make, "admin")
    response = client.post(f"/admin/users/{user.username}/role", data={"role": "emperor"})
    assert response.status_code == 422
    assert (
        "Choose one of: reader, contributor, author, moderator, editor, admin."
        in response.get_data(as_text=True)
    )
    assert get_user(app, user.id).role.name == "author"


def test_role_change_for_unknown_user_is_404(client: FlaskClient, make) -> None:
    as_role(client, make, "admin")
    response = client.post("/admin/users/nobody-here/role", data={"role": "reader"})
    assert response.status_code == 404


def test_admin_cannot_demote_themselves(app: Flask, client: FlaskClient, make) -> None:
    admin = as_role(client, make, "admin")
    response = client.post(f"/admin/users/{admin.username}/role", data={"role": "reader"})
    assert response.status_code == 403
    assert get_user(app, admin.id).role.name == "admin"


def test_moderator_cannot_change_roles(app: Flask, client: FlaskClient, make) -> None:
    user = make.user()
    as_role(client, make, "moderator")
    response = client.post(f"/admin/users/{user.username}/role", data={"role": "admin"})
    assert response.status_code == 403
    assert get_user(app, user.id).role.name == "author"


def test_deactivating_a_user_logs_them_out_everywhere(
    app: Flask, client: FlaskClient, make
) -> None:
    user = make.user()
    their_browser = app.test_client()
    login(their_browser, user.email)
    as_role(client, make, "admin")
    response = client.post(f"/admin/users/{user.username}/active", data={"active": "0"})
    assert response.status_code == 303
    assert not get_user(app, user.id).active
    assert not is_logged_in(their_browser)
    assert login(their_browser, user.email).status_code == 422

    response = client.post(f"/admin/users/{user.username}/active", data={"active": "1"})
    assert response.status_code == 303
    assert get_user(app, user.id).active
    assert login(their_browser, user.email).status_code == 303


@pytest.mark.parametrize("value", ["", "yes", "2"])
def test_active_flag_must_be_0_or_1(app: Flask, client: FlaskClient, make, value: str) -> None:
    user = make.user()
    as_role(client, make, "admin")
    response = client.post(f"/admin/users/{user.username}/active", data={"active": value})
    assert response.status_code == 422
    assert get_user(app, user.id).active


def test_admin_cannot_deactivate_themselves(app: Flask, client: FlaskClient, make) -> None:
    admin = as_role(client, make, "admin")
    response = client.post(f"/admin/users/{admin.username}/active", data={"active": "0"})
    assert response.status_code == 403
    assert get_user(app, admin.id).active


def test_user_list_runs_the_same_queries_for_any_number_of_users(
    client: FlaskClient, make, page_queries
) -> None:
    as_role(client, make, "admin")
    few = page_queries(client, "/admin/users")
    for _ in range(10):
        make.user()
    assert page_queries(client, "/admin/users") == few


# --- settings ---------------------------------------------------------------------------------


def comments_need_approval(app: Flask) -> bool:
    with app.app_context():
        return settings.comments_require_approval()


def test_settings_page_shows_the_current_value(app: Flask, client: FlaskClient, make) -> None:
    as_role(client, make, "admin")
    html = client.get("/admin/settings").get_data(as_text=True)
    assert '<label for="comments_mode">' in html
    assert '<option selected value="approval">' in html
    assert app.config["COMMENTS_REQUIRE_APPROVAL"] is True


def test_admin_turns_comment_approval_off_and_on(app: Flask, client: FlaskClient, make) -> None:
    as_role(client, make, "admin")
    response = client.post("/admin/settings", data={"comments_mode": "on"})
    assert response.status_code == 303
    assert not comments_need_approval(app)
    page = client.get("/admin/settings").get_data(as_text=True)
    assert '<option selected value="on">' in page

    client.post("/admin/settings", data={"comments_mode": "approval"})
    assert comments_need_approval(app)


def test_setting_decides_whether_new_comments_wait(app: Flask, client: FlaskClient, make) -> None:
    post = make.post()
    as_role(client, make, "admin")
    client.post("/admin/settings", data={"comments_mode": "on"})
    commenter = app.test_client()
    login(commenter, make.user().email)
    commenter.post(f"/blog/post/{post.slug}/comment", data={"body": "Straight through"})
    with app.app_context():
        comment = db.session.scalar(select(Comment).where(Comment.body == "Straight through"))
        assert comment is not None
        assert comment.approved


def test_moderators_cannot_change_settings(app: Flask, client: FlaskClient, make) -> None:
    as_role(client, make, "moderator")
    assert client.post("/admin/settings", data={}).status_code == 403
    assert comments_need_approval(app)


@pytest.mark.parametrize("action", ["approve", "delete"])
def test_moderating_from_a_post_page_returns_there(
    app: Flask, client: FlaskClient, make, action: str
) -> None:
    with app.app_context():
        comment = make.comment(approved=False)
        slug = comment.post.slug
    as_role(client, make, "moderator")
    back = f"/blog/post/{slug}#comment-{comment.id}"
    response = client.post(f"/admin/comments/{comment.id}/{action}", data={"next": back})
    assert response.status_code == 303
    assert response.headers["Location"] == back


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"]
)
def test_moderation_never_redirects_off_the_site(client: FlaskClient, make, target: str) -> None:
    comment = make.comment(approved=False)
    as_role(client, make, "moderator")
    response = client.post(f"/admin/comments/{comment.id}/approve?page=3", data={"next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/comments?page=3"


def test_the_post_page_approve_button_comes_back_to_the_post(
    app: Flask, client: FlaskClient, make
) -> None:
    with app.app_context():
        comment = make.comment(approved=False)
        page = f"/blog/post/{comment.post.slug}"
    as_role(client, make, "moderator")
    html = client.get(page).get_data(as_text=True)
    assert f'name="next" value="{page}#comment-{comment.id}"' in html
    response = client.post(
        f"/admin/comments/{comment.id}/approve", data={"next": f"{page}#comment-{comment.id}"}
    )
    assert response.headers["Location"] == f"{page}#comment-{comment.id}"
    saved = get_comment(app, comment.id)
    assert saved is not None
    assert saved.approved
