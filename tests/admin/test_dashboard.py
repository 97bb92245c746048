"""The console's dashboard: counts and server-drawn SVG charts, each part for its roles, in a
bounded number of queries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from penpress.blog import view_counts
from penpress.blog.services import stats
from penpress.database import utcnow
from penpress.extensions import db
from penpress.settings import services as settings
from tests.html_dom import Element, parse
from tests.pages import login


def stat(page: Element, key: str) -> int | None:
    found = page.find_all("li", **{"data-stat": key})
    if not found:
        return None
    return int(next(e for e in found[0].iter("span") if "stat-value" in e.classes).text)


def figure(page: Element, chart_id: str) -> Element | None:
    found = page.find_all("figure", id=chart_id)
    return found[0] if found else None


def bars(chart: Element) -> list[str]:
    """Each bar's tooltip: "label: value"."""
    return [rect.find("title").text for rect in chart.iter("rect")]


def test_counts_and_charts_for_an_admin(
    app: Flask, client: FlaskClient, make, flush_views: Callable[[], int]
) -> None:
    admin = make.user(role_name="admin")
    writer = make.user()
    now = utcnow()
    popular = make.post(author=writer, title="Popular", published_at=now)
    make.post(author=writer, title="Older", published_at=now - timedelta(days=40))
    make.post(author=writer, published=False)
    make.post(author=writer, published=False, status="submitted", submitted_at=now)
    make.comment(post=popular, author=writer, approved=False)
    make.comment(post=popular, author=writer)
    for _ in range(3):
        client.get(f"/blog/post/{popular.slug}")
    assert flush_views() == 3
    login(client, admin.email)
    response = client.get("/admin/")
    assert response.status_code == 200
    page = parse(response.text)
    assert (stat(page, "posts"), stat(page, "drafts"), stat(page, "submitted")) == (2, 1, 1)
    assert (stat(page, "comments_waiting"), stat(page, "users")) == (1, 2)
    assert stat(page, "subscribers") == 0  # the newsletter's confirmed subscribers
    months = figure(page, "posts-per-month")
    assert months is not None
    assert len(bars(months)) == stats.MONTHS
    assert bars(months)[-1] == f"{now:%Y-%m}: 1"
    days = figure(page, "comments-per-day")
    assert days is not None
    assert bars(days)[-1] == f"{now.date().isoformat()}: 2"
    top = figure(page, "top-posts")
    assert top is not None
    assert bars(top) == ["Popular: 3"]
    # Colours come from classes (the CSP allows no inline style).
    assert "style=" not in response.text


def test_a_moderator_sees_the_comments_part_only(client: FlaskClient, make) -> None:
    login(client, make.user(role_name="moderator").email)
    page = parse(client.get("/admin/").text)
    assert stat(page, "comments_waiting") == 0
    assert stat(page, "posts") is None
    assert stat(page, "users") is None
    assert figure(page, "posts-per-month") is None
    assert figure(page, "top-posts") is None


def test_an_editor_sees_posts_but_not_accounts(client: FlaskClient, make) -> None:
    login(client, make.user(role_name="editor").email)
    page = parse(client.get("/admin/").text)
    assert stat(page, "posts") == 0
    assert stat(page, "users") is None
    assert stat(page, "subscribers") is None


@pytest.mark.parametrize("role", ["reader", "contributor", "author"])
def test_writers_and_readers_get_403(client: FlaskClient, make, role: str) -> None:
    login(client, make.user(role_name=role).email)
    assert client.get("/admin/").status_code == 403


def test_the_dashboard_costs_the_same_queries_for_a_bigger_site(
    app: Flask,
    client: FlaskClient,
    make,
    count_queries: Callable[[], Any],
    flush_views: Callable[[], int],
) -> None:
    admin = make.user(role_name="admin")
    login(client, admin.email)
    post = make.post()
    client.get(f"/blog/post/{post.slug}")
    flush_views()
    client.get("/admin/")
    with count_queries() as few:
        assert client.get("/admin/").status_code == 200
    now = utcnow()
    for n in range(12):
        other = make.post(published_at=now - timedelta(days=31 * n))
        make.comment(post=other, author=admin, approved=n % 2 == 0)
        client.get(f"/blog/post/{other.slug}")
    flush_views()
    with count_queries() as many:
        assert client.get("/admin/").status_code == 200
    assert len(many) == len(few)


def test_views_are_kept_per_day_by_the_flush(
    app: Flask, client: FlaskClient, make, flush_views: Callable[[], int]
) -> None:
    from penpress.blog.models import PostViewDay

    post = make.post()
    for _ in range(2):
        client.get(f"/blog/post/{post.slug}")
    flush_views()
    client.get(f"/blog/post/{post.slug}")
    flush_views()
    with app.app_context():
        (row,) = db.session.scalars(select(PostViewDay)).all()
        assert (row.post_id, row.day, row.views) == (post.id, utcnow().date(), 3)
        assert view_counts.pending(post.id) == 0


# The dashboard's "now" in the time-zone tests: 20:00 UTC on 30 November 2026 is 09:00 on
# 1 December in Auckland (NZDT, +13) and noon on 30 November in Los Angeles (PST, -8).
NOW = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def by_zone(app: Flask, make, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Any]:
    """Comments and posts just either side of local midnights; ``by_zone(name)``: the
    dashboard's per-day and per-month series with the site in that zone."""
    monkeypatch.setattr(stats, "utcnow", lambda: NOW)
    admin = make.user(role_name="admin")
    post = make.post(published_at=at("2026-01-01 00:00"))
    for when in (
        # Auckland's midnight starting 1 December (11:00 UTC), Los Angeles's starting
        # 30 November (08:00 UTC).
        "2026-11-30 10:59:59",
        "2026-11-30 11:00:00",
        "2026-11-30 07:59:59",
        "2026-11-30 08:00:00",
    ):
        make.comment(post=post, author=admin, created_at=at(when))
    for when in (
        # Auckland in winter (NZST, +12): 1 July starts at 12:00 UTC on 30 June.
        "2026-06-30 11:59:00",
        "2026-06-30 12:00:00",
        # Los Angeles on its last summer-time night (PDT, -7): 1 November starts at 07:00 UTC.
        "2026-11-01 06:59:00",
        "2026-11-01 07:00:00",
    ):
        make.post(published_at=at(when))

    def series(zone: str) -> Any:
        with app.app_context():
            settings.set_default_time_zone(db.session.merge(admin), zone)
            db.session.commit()
            board = stats.dashboard(db.session.merge(admin))
            assert board.time_zone == zone
            days = {day.isoformat(): n for day, n in board.comments_per_day or [] if n}
            months = {month: n for month, n in board.posts_per_month or [] if n}
            return days, months

    return series


def test_charts_count_days_and_months_of_the_sites_time_zone(
    by_zone: Callable[[str], Any],
) -> None:
    assert by_zone("UTC") == (
        {"2026-11-30": 4},
        {"2026-01": 1, "2026-06": 2, "2026-11": 2},
    )
    # Auckland's year runs from January 2026 to December 2026 (its today is 1 December).
    assert by_zone("Pacific/Auckland") == (
        {"2026-11-30": 3, "2026-12-01": 1},
        {"2026-01": 1, "2026-06": 1, "2026-07": 1, "2026-11": 2},
    )
    assert by_zone("America/Los_Angeles") == (
        {"2026-11-29": 1, "2026-11-30": 3},
        {"2025-12": 1, "2026-06": 2, "2026-10": 1, "2026-11": 1},
    )


def test_the_charts_say_which_time_zone_they_count_in(
    client: FlaskClient, make, by_zone: Callable[[str], Any]
) -> None:
    by_zone("Pacific/Auckland")
    login(client, make.user(role_name="admin").email)
    page = parse(client.get("/admin/").text)
    for chart_id in ("posts-per-month", "comments-per-day"):
        chart = figure(page, chart_id)
        assert chart is not None
        assert "Pacific/Auckland time" in chart.find("h2").text, chart_id
    days = figure(page, "comments-per-day")
    assert days is not None
    assert bars(days)[-1] == "2026-12-01: 1"
