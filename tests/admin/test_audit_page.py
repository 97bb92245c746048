"""The console's audit log page: filters, search, pages by cursor, bounded queries."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from penpress.accounts import services as accounts
from penpress.audit import services as audit
from penpress.audit.models import AuditEntry
from penpress.database import utcnow
from penpress.extensions import db
from tests.html_dom import Element, parse
from tests.pages import login


def seed(app: Flask, make, count: int = 3) -> None:
    """``count`` role changes by "boss" and one tag rename by "ed"."""
    with app.app_context():
        admin = make.user(username="boss", role_name="admin")
        editor = make.user(username="ed", role_name="editor")
        for n in range(count):
            accounts.set_role(admin, make.user(username=f"member{n}", role_name="reader"), "author")
        make.post(tags=["python"])
        from penpress.blog.services import tags

        tags.rename_tag(editor, "python", "Snakes")
        db.session.commit()


def rows(response: TestResponse) -> list[Element]:
    return [row for row in parse(response.text).iter("tr") if "audit-entry" in row.classes]


def actions_on(response: TestResponse) -> list[str | None]:
    return [row.attrs["data-action"] for row in rows(response)]


def test_lists_entries_newest_first_with_before_and_after(
    app: Flask, client: FlaskClient, make
) -> None:
    seed(app, make, count=1)
    login(client, "boss@example.com")
    response = client.get("/admin/audit")
    assert response.status_code == 200
    assert actions_on(response) == ["tag.rename", "user.role"]
    assert "reader" in response.text
    assert "author" in response.text
    assert "Tag renamed" in response.text


def test_filters_by_actor_action_kind_and_text(app: Flask, client: FlaskClient, make) -> None:
    seed(app, make)
    login(client, "boss@example.com")
    assert actions_on(client.get("/admin/audit?actor=ed")) == ["tag.rename"]
    assert actions_on(client.get("/admin/audit?action=user.role")) == ["user.role"] * 3
    assert actions_on(client.get("/admin/audit?object_type=tag")) == ["tag.rename"]
    assert actions_on(client.get("/admin/audit?q=MEMBER1")) == ["user.role"]
    assert actions_on(client.get("/admin/audit?q=100%25")) == []


def test_filters_by_date(app: Flask, client: FlaskClient, make) -> None:
    seed(app, make, count=1)
    login(client, "boss@example.com")
    today = utcnow().date()
    assert len(actions_on(client.get(f"/admin/audit?since={today}&until={today}"))) == 2
    tomorrow = today + timedelta(days=1)
    response = client.get(f"/admin/audit?since={tomorrow}")
    assert response.status_code == 200
    assert actions_on(response) == []
    assert "No entries match." in response.text


def test_bad_filters_are_422_not_500(app: Flask, client: FlaskClient, make) -> None:
    seed(app, make, count=1)
    login(client, "boss@example.com")
    for query in (
        "action=user.smile",
        "object_type=planet",
        "since=yesterday",
        "since=2026-02-02&until=2026-01-01",
        "after=%%%",
        "after=" + "A" * 100,
    ):
        assert client.get(f"/admin/audit?{query}").status_code == 422, query


def test_pages_follow_a_cursor_and_keep_the_filters(
    app: Flask, client: FlaskClient, make, monkeypatch
) -> None:
    monkeypatch.setattr(audit, "PER_PAGE", 2)
    seed(app, make, count=5)
    login(client, "boss@example.com")
    seen: list[str] = []
    url: str | None = "/admin/audit?action=user.role"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += [row.attrs["data-object"] for row in rows(response)]
        older = parse(response.text).find_all("a", rel="next")
        url = older[0].attrs["href"] if older else None
        assert url is None or "action=user.role" in url
    assert seen == [f"member{n}" for n in reversed(range(5))]


def test_a_page_costs_the_same_queries_however_long_the_log(
    app: Flask, client: FlaskClient, make, count_queries
) -> None:
    seed(app, make, count=2)
    login(client, "boss@example.com")
    assert client.get("/admin/audit").status_code == 200  # warm-up: settings, caches
    with count_queries() as few:
        assert client.get("/admin/audit").status_code == 200
    with app.app_context():
        admin = db.session.get_one(AuditEntry, 1).actor_id
        from penpress.accounts.models import User

        boss = db.session.get_one(User, admin)
        for _n in range(30):
            accounts.set_role(boss, make.user(role_name="reader"), "author")
        db.session.commit()
    with count_queries() as many:
        assert client.get("/admin/audit").status_code == 200
    assert len(many) == len(few)
