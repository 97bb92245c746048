"""The owner's view under /admin/subscribers: counts, growth, the list, per-post figures, CSV
export and import; administrators only."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from penpress.database import utcnow
from penpress.extensions import db
from penpress.newsletter import services
from penpress.newsletter.models import (
    CONFIRMED,
    FAILED,
    PAUSED,
    PENDING,
    QUEUED,
    SENT,
    STARTED,
    UNSUBSCRIBED,
    Delivery,
    NewsletterSend,
    Subscriber,
)
from tests.html_dom import parse
from tests.newsletter.conftest import add_many, add_subscriber, subscriber_of
from tests.pages import login

PAGE = "/admin/subscribers/"
EXPORT = "/admin/subscribers/export.csv"
IMPORT = "/admin/subscribers/import"


@pytest.fixture
def admin(client: FlaskClient, make: Any) -> Any:
    user = make.user(role_name="admin")
    assert login(client, user.email).status_code == 303
    return user


def upload(client: FlaskClient, text: str | bytes, *, consent: bool = False) -> Any:
    data: dict[str, Any] = {
        "file": (io.BytesIO(text.encode() if isinstance(text, str) else text), "list.csv")
    }
    if consent:
        data["consent"] = "y"
    return client.post(IMPORT, data=data, content_type="multipart/form-data")


# --- who may --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["reader", "author", "moderator"])
def test_only_administrators_see_or_change_anything(
    app: Flask, client: FlaskClient, make: Any, role: str
) -> None:
    subscriber = add_subscriber(app, "private@example.com", PAUSED)
    user = make.user(role_name=role)
    assert login(client, user.email).status_code == 303
    for path in (PAGE, EXPORT, f"{PAGE}?q=private"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert b"private@example.com" not in response.data
    assert upload(client, "email\nnew@example.com\n", consent=True).status_code == 403
    for action in ("resume", "unsubscribe", "remove"):
        assert client.post(f"{PAGE}{subscriber.id}/{action}").status_code == 403
    assert subscriber_of(app, "new@example.com") is None
    assert subscriber_of(app, "private@example.com").status == PAUSED
    # Nor is the page linked for them.
    assert PAGE not in client.get("/admin/comments").get_data(as_text=True)


def test_anonymous_visitors_go_to_the_login_page(client: FlaskClient) -> None:
    for response in (client.get(PAGE), client.get(EXPORT), client.post(IMPORT)):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/auth/login")


# --- the page -------------------------------------------------------------------------------


def test_the_page_counts_lists_searches_and_charts(
    app: Flask, client: FlaskClient, admin: Any, make: Any
) -> None:
    add_subscriber(app, "alice@example.com", CONFIRMED)
    add_subscriber(app, "albert@example.org", PENDING)
    add_subscriber(app, "zed@example.com", UNSUBSCRIBED, unsubscribed_at=utcnow())
    add_subscriber(app, "old@example.com", CONFIRMED, created_at=utcnow() - timedelta(days=70))
    page = parse(client.get(PAGE).get_data(as_text=True))
    counts = {
        div.find("dt").text: int(div.find("dd").text)
        for div in page.find("dl", id="subscriber-counts").find_all("div")
    }
    assert counts == {"Pending": 1, "Confirmed": 2, "Paused": 0, "Unsubscribed": 1}
    nav = page.find("nav", **{"aria-label": "Administration"})
    assert nav.find("a", href=PAGE).attrs["aria-current"] == "page"

    rows = page.find("table", id="growth-table").find("tbody").find_all("tr")
    assert len(rows) == 12
    this_month = [cell.text for cell in rows[0].iter("th", "td")]
    assert this_month == [utcnow().strftime("%Y-%m"), "3", "2", "1", "+1"]
    svg = page.find("svg")
    assert svg.attrs["role"] == "img"
    assert len(svg.find_all("rect")) == 24  # two bars a month
    assert (
        "style" not in client.get(PAGE).get_data(as_text=True).split("<svg")[1].split("</svg>")[0]
    )

    listed = parse(client.get(f"{PAGE}?q=AL").get_data(as_text=True))
    addresses = [
        row.find("th").text
        for row in listed.find("table", id="subscriber-list").find("tbody").find_all("tr")
    ]
    assert addresses == ["albert@example.org", "alice@example.com"]
    confirmed = parse(client.get(f"{PAGE}?q=al&status=confirmed").get_data(as_text=True))
    assert [
        row.find("th").text
        for row in confirmed.find("table", id="subscriber-list").find("tbody").find_all("tr")
    ] == ["alice@example.com"]
    assert client.get(f"{PAGE}?q=%25&status=nonsense&page=999999999").status_code == 200


def test_the_page_shows_what_each_send_did(
    app: Flask, client: FlaskClient, admin: Any, make: Any
) -> None:
    post = make.post(title="Figures")
    subscribers = [add_subscriber(app, f"s{n}@example.com") for n in range(4)]
    with app.app_context():
        send = NewsletterSend(post_id=post.id, state=STARTED)
        db.session.add(send)
        db.session.flush()
        for subscriber, state in zip(subscribers, (SENT, SENT, FAILED, QUEUED), strict=True):
            db.session.add(Delivery(send_id=send.id, subscriber_id=subscriber.id, state=state))
        db.session.commit()
    page = parse(client.get(PAGE).get_data(as_text=True))
    row = page.find("tr", **{"data-post": post.slug})
    figures = [
        row.find("td", **{"class": f"figure-{name}"}).text
        for name in ("sent", "failed", "queued", "skipped")
    ]
    assert figures == ["2", "1", "1", "0"]


def test_admin_actions_resume_unsubscribe_and_remove(
    app: Flask, client: FlaskClient, admin: Any
) -> None:
    paused = add_subscriber(app, "paused@example.com", PAUSED, failures=3)
    active = add_subscriber(app, "active@example.com")
    response = client.post(f"{PAGE}{paused.id}/resume?next=/admin/subscribers/?q=p")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/subscribers/?q=p"
    assert (
        subscriber_of(app, "paused@example.com").status,
        subscriber_of(app, "paused@example.com").failures,
    ) == (CONFIRMED, 0)
    client.post(f"{PAGE}{active.id}/unsubscribe")
    assert subscriber_of(app, "active@example.com").status == UNSUBSCRIBED
    client.post(f"{PAGE}{active.id}/remove")
    assert subscriber_of(app, "active@example.com") is None
    assert client.post(f"{PAGE}{active.id}/remove").status_code == 404


# --- CSV ------------------------------------------------------------------------------------


def test_export_and_import_round_trip_with_bad_rows(
    app: Flask, client: FlaskClient, admin: Any, build_app: Any
) -> None:
    add_subscriber(app, "one@example.com", CONFIRMED)
    add_subscriber(app, "two@example.com", UNSUBSCRIBED, unsubscribed_at=utcnow())
    add_subscriber(app, "three@example.com", PENDING)
    add_subscriber(app, "four@example.com", PAUSED, failures=3)
    add_subscriber(app, "=cmd@example.com", CONFIRMED)  # a spreadsheet would run it
    response = client.get(EXPORT)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="subscribers.csv"'
    assert "no-store" in response.headers["Cache-Control"]
    exported = response.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(exported)))
    assert rows[0] == services.EXPORT_HEADER
    assert [row[:2] for row in rows[1:]] == [
        ["one@example.com", CONFIRMED],
        ["two@example.com", UNSUBSCRIBED],
        ["three@example.com", PENDING],
        ["four@example.com", PAUSED],
        ["'=cmd@example.com", CONFIRMED],
    ]

    # Into an empty list, with two broken rows and a repeated one added.
    with app.app_context():
        db.session.execute(Subscriber.__table__.delete())
        db.session.commit()
    broken = (
        exported + "not an address,confirmed,,,,\r\n,,,,,\r\none@example.com,,,,,\r\nx@,,,,,\r\n"
    )
    page = parse(upload(client, broken, consent=True).get_data(as_text=True))
    report = page.find("div", id="import-report").text
    assert "Added 5 addresses: 1 pending, 2 confirmed, 1 paused, 1 unsubscribed." in " ".join(
        report.split()
    )
    assert "1 row repeated an address." in " ".join(report.split())
    errors = [item.text for item in page.find("ul", id="import-errors").find_all("li")]
    assert len(errors) == 2
    assert errors[0].startswith("Line 7: “not an address”")
    assert errors[1].startswith("Line 10: “x@”")
    with app.app_context():
        statuses = dict(db.session.execute(select(Subscriber.email, Subscriber.status)).all())
    assert statuses == {
        "one@example.com": CONFIRMED,
        "two@example.com": UNSUBSCRIBED,
        "three@example.com": PENDING,
        "four@example.com": PAUSED,
        "=cmd@example.com": CONFIRMED,
    }
    assert client.get(EXPORT).get_data(as_text=True).splitlines()[1:] != []  # and out again


def test_import_without_consent_adds_unconfirmed_addresses_and_never_resubscribes(
    app: Flask, client: FlaskClient, admin: Any, outbox: list[Any]
) -> None:
    add_subscriber(app, "left@example.com", UNSUBSCRIBED)
    response = upload(client, "new@example.com\nLeft@Example.com\n")
    assert response.status_code == 200
    assert subscriber_of(app, "new@example.com").status == PENDING
    assert subscriber_of(app, "new@example.com").source == "import"
    assert subscriber_of(app, "left@example.com").status == UNSUBSCRIBED  # left as it was
    assert outbox == []  # not even a confirmation email
    upload(client, "email\nleft@example.com\n", consent=True)
    assert subscriber_of(app, "left@example.com").status == UNSUBSCRIBED
    page = client.get(PAGE).get_data(as_text=True)
    assert "emailing people who never agreed is spam" in page  # what ticking the box means


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00n\x00o", "UTF-8"),
        (b'email\n"unterminated\x00', "CSV"),
    ],
)
def test_unreadable_files_are_refused(
    client: FlaskClient, admin: Any, content: bytes, message: str
) -> None:
    response = upload(client, content)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_a_missing_file_is_a_form_error(client: FlaskClient, admin: Any) -> None:
    response = client.post(IMPORT, data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose a CSV file." in response.get_data(as_text=True)


def test_big_imports_go_in_bounded_chunks(
    app: Flask, ctx: None, make: Any, count_queries: Any
) -> None:
    admin = make.user(role_name="admin")
    add_many(app, (f"old{n}@example.com" for n in range(300)))

    def statements(rows: int) -> int:
        text = "\n".join(f"n{rows}-{n}@example.com" for n in range(rows)) + "\nold1@example.com\n"
        with count_queries() as queries:
            report = services.import_subscribers(admin, text.encode(), consent=True)
        assert report.added[CONFIRMED] == rows
        assert report.already == 1
        db.session.commit()
        return len(queries)

    one_chunk = statements(services.IMPORT_CHUNK - 1)
    four_chunks = statements(4 * services.IMPORT_CHUNK - 1)
    assert four_chunks == one_chunk + 3 * 2  # a lookup and an insert per chunk


def test_growth_counts_by_calendar_month(app: Flask, ctx: None, make: Any) -> None:
    admin = make.user(role_name="admin")
    now = utcnow().replace(day=15)
    add_subscriber(app, "a@example.com", CONFIRMED, created_at=now - timedelta(days=31))
    add_subscriber(app, "b@example.com", UNSUBSCRIBED, created_at=now, unsubscribed_at=now)
    months = services.growth(admin, months=3, now=now)
    assert [m.month for m in months][-1] == now.strftime("%Y-%m")
    assert [(m.subscribed, m.unsubscribed) for m in months][-2:] == [(1, 0), (1, 1)]


def test_the_newsletter_pages_have_labelled_controls_and_no_inline_code(
    app: Flask, client: FlaskClient, make: Any, outbox: list[Any]
) -> None:
    from tests.newsletter.conftest import link_to, to
    from tests.pages import audit_markup

    client.post("/newsletter/subscribe", data={"email": "audit@example.com"})
    confirm = link_to(to(outbox, "audit@example.com")[0], "/newsletter/confirm/")
    pages = ["/", "/newsletter/", "/newsletter/requested", confirm]
    for path in pages:
        assert audit_markup(client.get(path).get_data(as_text=True)).inline == [], path
    assert client.post(confirm).status_code == 200
    add_subscriber(app, "paused@example.com", PAUSED, failures=3, last_failure="550 No such user")
    admin = make.user(role_name="admin")
    assert login(client, admin.email).status_code == 303
    upload(client, "email\nfine@example.com\nbroken\n")
    for path in (PAGE, "/newsletter/", "/blog/create", "/blog/"):
        assert audit_markup(client.get(path).get_data(as_text=True)).inline == [], path
    report = upload(client, "email\nfine2@example.com\nbroken\n").get_data(as_text=True)
    assert audit_markup(report).inline == []
