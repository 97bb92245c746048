"""Time zones: a preference on the profile, a default in the site settings, conversions that
survive daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from penpress import timezones
from penpress.accounts.models import User
from penpress.errors import Invalid
from penpress.extensions import db
from penpress.settings.services import default_time_zone
from tests.conftest import Make
from tests.pages import audit_markup, login


def zone_of(app: Flask, user: User) -> str | None:
    with app.app_context():
        found = db.session.get(User, user.id)
        assert found is not None
        return found.time_zone


def test_a_member_chooses_a_time_zone_on_the_profile(
    app: Flask, client: FlaskClient, make: Make
) -> None:
    user = make.user()
    login(client, user.email)
    page = client.get("/auth/profile").get_data(as_text=True)
    assert '<option selected value="">The site&#39;s default (UTC)</option>' in page
    assert '<option value="Europe/Paris">Europe/Paris</option>' in page
    audit_markup(page)
    response = client.post("/auth/profile", data={"bio": "", "time_zone": "Europe/Paris"})
    assert response.status_code == 303
    assert zone_of(app, user) == "Europe/Paris"
    assert '<option selected value="Europe/Paris">' in client.get("/auth/profile").get_data(True)
    # Empty: back to the site's default. Left out (an older form): unchanged.
    client.post("/auth/profile", data={"bio": "", "time_zone": "Asia/Tokyo"})
    client.post("/auth/profile", data={"bio": "x"})
    assert zone_of(app, user) == "Asia/Tokyo"
    client.post("/auth/profile", data={"bio": "", "time_zone": ""})
    assert zone_of(app, user) is None


@pytest.mark.parametrize("zone", ["Mars/Olympus", "europe/paris", "../../etc/passwd", "x" * 70])
def test_an_unknown_time_zone_is_refused_on_its_field(
    app: Flask, client: FlaskClient, make: Make, zone: str
) -> None:
    user = make.user(time_zone="Europe/Paris")
    login(client, user.email)
    response = client.post("/auth/profile", data={"bio": "", "time_zone": zone})
    assert response.status_code == 422
    assert "Choose a time zone from the list" in response.get_data(as_text=True)
    assert zone_of(app, user) == "Europe/Paris"


def test_admins_set_the_default_time_zone(app: Flask, client: FlaskClient, make: Make) -> None:
    login(client, make.user(role_name="admin").email)
    page = client.get("/admin/settings").get_data(as_text=True)
    assert '<option selected value="UTC">UTC</option>' in page
    response = client.post(
        "/admin/settings",
        data={"comments_require_approval": "y", "default_time_zone": "America/New_York"},
    )
    assert response.status_code == 303
    with app.app_context():
        assert default_time_zone() == "America/New_York"
    bad = client.post("/admin/settings", data={"default_time_zone": "Nowhere/Land"})
    assert bad.status_code == 422
    assert "Choose a time zone from the list" in bad.get_data(as_text=True)
    with app.app_context():
        assert default_time_zone() == "America/New_York"
    client.post("/auth/logout")
    login(client, make.user(role_name="author").email)
    assert client.post("/admin/settings", data={"default_time_zone": "UTC"}).status_code == 403


@pytest.mark.parametrize(
    ("wall_clock", "zone", "utc"),
    [
        (datetime(2026, 1, 15, 9, 0), "Europe/Paris", datetime(2026, 1, 15, 8, 0, tzinfo=UTC)),
        (datetime(2026, 7, 15, 9, 0), "Europe/Paris", datetime(2026, 7, 15, 7, 0, tzinfo=UTC)),
        # 02:30 does not exist in Paris on 29 March 2026: read with the offset before (+01:00).
        (datetime(2026, 3, 29, 2, 30), "Europe/Paris", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
        # 02:30 happens twice on 25 October 2026: the first one (+02:00).
        (datetime(2026, 10, 25, 2, 30), "Europe/Paris", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        (datetime(2026, 7, 15, 9, 0), "America/New_York", datetime(2026, 7, 15, 13, tzinfo=UTC)),
        (datetime(2026, 7, 15, 9, 0), "UTC", datetime(2026, 7, 15, 9, 0, tzinfo=UTC)),
    ],
)
def test_wall_clock_times_convert_to_one_instant(
    wall_clock: datetime, zone: str, utc: datetime
) -> None:
    assert timezones.local_to_utc(wall_clock, zone) == utc


def test_conversions_refuse_what_they_cannot_place() -> None:
    with pytest.raises(Invalid, match="between the years"):
        timezones.local_to_utc(datetime(1, 1, 1), "Pacific/Kiritimati")
    with pytest.raises(Invalid, match="offset from UTC"):
        timezones.in_range(datetime(2030, 1, 1), "publish_at")
    with pytest.raises(Invalid):
        timezones.check_zone("")
    assert timezones.zone_names()[0] == "UTC"
    assert "Europe/Paris" in timezones.zone_names()


def test_offset_periods_find_each_change_to_the_second() -> None:
    """What the dashboard groups by on SQLite: the zone's offsets and when each starts."""
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC)
    hours = timedelta(hours=1)
    assert timezones.offset_periods("Pacific/Auckland", start, end) == [
        (start, 13 * hours),
        (datetime(2026, 4, 4, 14, 0, tzinfo=UTC), 12 * hours),  # 03:00 NZDT back to 02:00
        (datetime(2026, 9, 26, 14, 0, tzinfo=UTC), 13 * hours),  # 02:00 NZST on to 03:00
    ]
    # Half an hour's change (Lord Howe Island), and a zone that never changes.
    assert [o for _, o in timezones.offset_periods("Australia/Lord_Howe", start, end)] == [
        11 * hours,
        10.5 * hours,
        11 * hours,
    ]
    assert timezones.offset_periods("Asia/Kolkata", start, end) == [(start, 5.5 * hours)]


def test_pages_show_dates_as_days_of_the_sites_time_zone(
    app: Flask, client: FlaskClient, make: Make
) -> None:
    """Late evening in UTC is already tomorrow in Auckland: lists and post pages say the
    day it is where the site is, for everyone (cached pages included), and follow the
    setting when it changes."""
    author = make.user(username="kiri")
    moment = datetime(2026, 3, 3, 20, 0, tzinfo=UTC)  # 09:00 on the 4th in Auckland
    post = make.post(author=author, title="Morning post", published_at=moment)
    pages = ["/", "/blog/", f"/blog/post/{post.slug}", "/blog/author/kiri"]
    for path in pages:  # cached for anonymous readers under the default zone (UTC)
        assert "Mar 3, 2026" in client.get(path).get_data(as_text=True), path
    admin = make.user(role_name="admin")
    login(client, admin.email)
    saved = client.post(
        "/admin/settings",
        data={"comments_require_approval": "y", "default_time_zone": "Pacific/Auckland"},
    )
    assert saved.status_code == 303
    client.post("/auth/logout")
    for path in pages:
        html = client.get(path).get_data(as_text=True)
        assert "Mar 4, 2026" in html, path
        assert "Mar 3, 2026" not in html, path
