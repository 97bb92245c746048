"""/admin/tags: editors and admins rename and delete tags (MANAGE_TAGS)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from penpress.blog.models import Post, Tag
from penpress.extensions import db
from tests.pages import login


def tag_names(app: Flask) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(Tag.name)), key=str.lower)


def test_an_editor_lists_renames_and_deletes_tags(app: Flask, client: FlaskClient, make) -> None:
    post = make.post(tags=["Pyhton", "flask"])
    make.post(published=False, tags=["flask"])
    login(client, make.user(role_name="editor").email)
    html = client.get("/admin/tags").get_data(as_text=True)
    assert 'action="/admin/tags/pyhton/rename' in html
    assert "<td>1</td>" in html  # published posts only

    assert client.post("/admin/tags/pyhton/rename", data={"name": "Python"}).status_code == 303
    assert tag_names(app) == ["flask", "Python"]
    page = client.get(f"/blog/post/{post.slug}").get_data(as_text=True)
    assert 'href="/blog/tag/python"' in page
    clash = client.post("/admin/tags/python/rename", data={"name": "Flask"})
    assert clash.status_code == 409

    assert client.post("/admin/tags/flask/delete").status_code == 303
    assert tag_names(app) == ["Python"]
    with app.app_context():
        assert db.session.get(Post, post.id) is not None  # the posts stay


@pytest.mark.parametrize("role", ["reader", "contributor", "author", "moderator"])
def test_others_cannot_manage_tags(app: Flask, client: FlaskClient, make, role: str) -> None:
    make.post(tags=["keep"])
    login(client, make.user(role_name=role).email)
    assert client.get("/admin/tags").status_code == 403
    assert client.post("/admin/tags/keep/rename", data={"name": "gone"}).status_code == 403
    assert client.post("/admin/tags/keep/delete").status_code == 403
    assert tag_names(app) == ["keep"]


def test_the_tag_list_costs_the_same_queries_for_any_number_of_tags(
    client: FlaskClient, make, page_queries
) -> None:
    login(client, make.user(role_name="admin").email)
    make.post(tags=["one"])
    few = page_queries(client, "/admin/tags")
    make.post(tags=[f"tag{n}" for n in range(12)])
    assert page_queries(client, "/admin/tags") == few
