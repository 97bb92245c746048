"""The core issue's "done when" flow, step by step through the site, as a person would do it:
register, log in, write a Markdown draft with tags, publish it, find it on the home page and
its tag page, comment on someone else's post, have a moderator approve the comment, change
the password and log out."""

from __future__ import annotations

from flask import url_for
from sqlalchemy import select

from penpress.blog.models import Comment, Post
from penpress.extensions import db
from penpress.settings.services import set_comments_require_approval
from tests.pages import is_logged_in, login

EMAIL = "grace@example.com"
PASSWORD = "first-password-1"
NEW_PASSWORD = "second-password-2"


def test_a_writer_from_registration_to_logout(app, make, monkeypatch):
    # A site whose owner lets everyone who signs up write (the default role is reader).
    monkeypatch.setitem(app.config, "DEFAULT_ROLE", "author")
    with app.app_context():
        admin = make.user(role_name="admin")
        set_comments_require_approval(admin, True)
        db.session.commit()
        neighbour = make.user(username="neighbour")
        their_post = make.post(author=neighbour, title="A neighbour's thoughts")
        moderator = make.user(username="moderator", role_name="moderator")
    me = app.test_client()
    visitor = app.test_client()

    # 1. Register (which also logs in), then log out and log in again with the form.
    response = me.post(
        "/auth/register",
        data={
            "username": "grace",
            "email": EMAIL,
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
    )
    assert response.status_code == 303
    assert is_logged_in(me)
    me.post("/auth/logout")
    assert not is_logged_in(me)
    response = login(me, EMAIL, PASSWORD)
    assert response.status_code == 303
    assert is_logged_in(me)

    # 2. Write a Markdown post with tags, as a draft.
    response = me.post(
        "/blog/create",
        data={
            "title": "Compilers for everyone",
            "summary": "Why I wrote the first one.",
            "body": "## A heading\n\nSome *Markdown* with `code`.\n\n- one\n- two",
            "tags": "Compilers, History",
        },
    )
    assert response.status_code == 303
    post_url = response.headers["Location"]
    assert post_url == "/blog/post/compilers-for-everyone"
    page = me.get(post_url).get_data(as_text=True)
    assert "Draft saved." in page
    assert '<h2 id="h-a-heading">A heading ' in page
    assert "<em>Markdown</em>" in page
    assert "<code>code</code>" in page
    assert visitor.get(post_url).status_code == 404
    assert "Compilers for everyone" not in visitor.get("/").get_data(as_text=True)
    assert "Compilers for everyone" in me.get("/blog/my-posts").get_data(as_text=True)

    # 3. Publish it.
    with app.app_context():
        post_id = db.session.scalar(select(Post.id).where(Post.slug == "compilers-for-everyone"))
    response = me.post(
        f"/blog/edit/{post_id}",
        data={
            "title": "Compilers for everyone",
            "summary": "Why I wrote the first one.",
            "body": "## A heading\n\nSome *Markdown* with `code`.\n\n- one\n- two",
            "tags": "Compilers, History",
            "published": "y",
        },
    )
    assert response.status_code == 303
    assert "Post published." in me.get(post_url).get_data(as_text=True)

    # 4. It shows on the home page and on its tag pages, for anyone.
    assert visitor.get(post_url).status_code == 200
    assert "Compilers for everyone" in visitor.get("/").get_data(as_text=True)
    assert "Compilers for everyone" in visitor.get("/blog/tag/compilers").get_data(as_text=True)
    assert "Compilers for everyone" in visitor.get("/blog/tag/history").get_data(as_text=True)

    # 5. Comment on another user's post: it waits for a moderator.
    their_url = f"/blog/post/{their_post.slug}"
    response = me.post(f"{their_url}/comment", data={"body": "Lovely read, thank you!"})
    assert response.status_code == 303
    page = me.get(their_url).get_data(as_text=True)
    assert "awaiting approval" in page
    assert "Lovely read, thank you!" in page
    assert "Lovely read, thank you!" not in visitor.get(their_url).get_data(as_text=True)

    # 6. A moderator finds it in the queue and approves it; now everyone sees it.
    mod = app.test_client()
    assert login(mod, moderator.email).status_code == 303
    assert "Lovely read, thank you!" in mod.get("/admin/comments").get_data(as_text=True)
    with app.app_context():
        comment_id = db.session.scalar(select(Comment.id))
    with app.test_request_context():
        approve = url_for("admin.approve_comment", comment_id=comment_id)
    assert mod.post(approve).status_code == 303
    page = visitor.get(their_url).get_data(as_text=True)
    assert "Lovely read, thank you!" in page
    assert "1 comment<" in page

    # 7. Change the password: the old one stops working, the new one works.
    response = me.post(
        "/auth/profile/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 303
    assert is_logged_in(me)  # this browser stays logged in
    refused = login(app.test_client(), EMAIL, PASSWORD)
    assert refused.status_code == 422  # the form again, with the error
    assert "Invalid email or password." in refused.get_data(as_text=True)
    assert login(app.test_client(), EMAIL, NEW_PASSWORD).status_code == 303

    # 8. Log out: pages that need a login send us to the login page again.
    assert me.post("/auth/logout").status_code == 303
    assert not is_logged_in(me)
    response = me.get("/blog/my-posts")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
