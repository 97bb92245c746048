"""Emailing posts: the editor's option, when a send starts, the email itself, batches at the
rate, exactly one email per post and subscriber, refusals and pauses."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from penpress import jobs
from penpress.blog.models import Post
from penpress.database import utcnow
from penpress.extensions import db
from penpress.newsletter import rendering, sending
from penpress.newsletter.models import (
    CONFIRMED,
    FAILED,
    PAUSED,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    STARTED,
    UNSUBSCRIBED,
    WAITING,
    Delivery,
    NewsletterSend,
)
from penpress.outbox import OutboxJob
from tests.api.v1.conftest import issue_pair
from tests.html_dom import parse
from tests.mailbox import html_of, links_in
from tests.newsletter.conftest import (
    add_many,
    add_subscriber,
    deliveries_by_state,
    path_of,
    send_of,
    subscriber_of,
    to,
)
from tests.smtp_sink import SmtpSink, duplicates, smtp_sink

READERS = ["ann@example.com", "bob@example.com", "cy@example.com"]


@pytest.fixture
def readers(app: Flask) -> list[str]:
    """Three confirmed subscribers, and one each pending, paused and unsubscribed."""
    for address in READERS:
        add_subscriber(app, address)
    add_subscriber(app, "waiting@example.com", PENDING, confirm_nonce="n" * 32)
    add_subscriber(app, "paused@example.com", PAUSED, failures=3)
    add_subscriber(app, "gone@example.com", UNSUBSCRIBED)
    return READERS


@pytest.fixture
def author(make: Any, client: FlaskClient, login: Any) -> Any:
    writer = make.user(username="writer", email="writer@example.com")
    login(client, writer)
    return writer


def write(
    client: FlaskClient,
    title: str = "Hello, subscribers",
    *,
    published: bool = True,
    email: bool = True,
    body: str = "The *first* post. [Tags](/blog/tag/news) and ![a dot](/static/favicon.svg).",
) -> None:
    data = {"title": title, "summary": "In short.", "body": body, "newsletter_option": "1"}
    if published:
        data["published"] = "y"
    if email:
        data["email_subscribers"] = "1"
    response = client.post("/blog/create", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)


def edit(client: FlaskClient, post: Post, *, published: bool, email: bool) -> None:
    data = {"title": post.title, "summary": "", "body": post.body, "newsletter_option": "1"}
    if published:
        data["published"] = "y"
    if email:
        data["email_subscribers"] = "1"
    response = client.post(f"/blog/edit/{post.id}", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)


def post_titled(app: Flask, title: str) -> Post:
    with app.app_context():
        post = db.session.scalar(select(Post).where(Post.title == title))
        assert post is not None
        return post


def batch_jobs(app: Flask) -> list[OutboxJob]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(OutboxJob)
                .where(OutboxJob.task_name == sending.BATCH_TASK)
                .order_by(OutboxJob.id)
            )
        )


def run_task(app: Flask, name: str, *args: Any) -> Any:
    """Run a task the way a worker would (in an app context, committing at the end)."""
    return app.extensions["celery"].tasks[name].apply(args=args)


# --- the editor's option --------------------------------------------------------------------


def test_the_editor_offers_the_option_to_the_author_and_admins(
    app: Flask, client: FlaskClient, make: Any, login: Any, readers: list[str]
) -> None:
    writer = make.user()
    login(client, writer)
    page = parse(client.get("/blog/create").get_data(as_text=True))
    box = page.find("input", name="email_subscribers")
    assert box.attrs["type"] == "checkbox"
    assert "checked" not in box.attrs
    assert page.find("input", name="newsletter_option").attrs["type"] == "hidden"
    assert "To 3 confirmed subscribers" in page.find("p", id="email_subscribers-help").text

    post = make.post(author=writer)
    admin = app.test_client()
    login(admin, make.user(role_name="admin"))
    assert 'name="email_subscribers"' in admin.get(f"/blog/edit/{post.id}").get_data(as_text=True)


def test_publishing_with_the_box_emails_each_confirmed_subscriber_once(
    app: Flask, client: FlaskClient, author: Any, readers: list[str], outbox: list[Any]
) -> None:
    write(client)
    assert sorted(message.to[0] for message in outbox) == READERS  # nobody else, nobody twice
    post = post_titled(app, "Hello, subscribers")
    assert deliveries_by_state(app, post.id) == {SENT: 3}
    assert send_of(app, post.id).state == STARTED
    page = client.get(f"/blog/post/{post.slug}").get_data(as_text=True)
    assert "It is being emailed to the subscribers." in page

    (message,) = to(outbox, "ann@example.com")
    assert message.subject == "Hello, subscribers"
    assert message.from_email == "Penpress <noreply@localhost>"
    headers = message.extra_headers
    unsubscribe = links_in(message)[-1]
    assert path_of(unsubscribe).startswith("/newsletter/unsubscribe/")
    assert headers["List-Unsubscribe"] == (
        f"<{unsubscribe}>, <mailto:noreply@localhost?subject=unsubscribe%20"
        f"{unsubscribe.rsplit('/', 1)[-1]}>"
    )
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Id"] == "Penpress <newsletter.localhost>"
    subscriber = subscriber_of(app, "ann@example.com")
    assert (
        headers["Message-ID"]
        == f"<newsletter.{send_of(app, post.id).id}.{subscriber.id}@localhost>"
    )
    # The HTML part: the post with absolute links and images, and the same unsubscribe link.
    html = html_of(message)
    post_url = f"http://localhost/blog/post/{post.slug}"
    assert f'href="{post_url}"' in html
    assert 'href="http://localhost/blog/tag/news"' in html
    assert 'src="http://localhost/static/favicon.svg"' in html
    assert f'href="{unsubscribe}"' in html
    assert "<em>first</em>" in html
    # The text part: the Markdown as written, with the post's address.
    assert "The *first* post." in message.body
    assert post_url in links_in(message)
    # The link in it unsubscribes (RFC 8058's one-click POST, no cookies).
    response = app.test_client().post(path_of(unsubscribe), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert subscriber_of(app, "ann@example.com").status == UNSUBSCRIBED


def test_a_draft_with_the_box_waits_until_it_is_published(
    app: Flask, client: FlaskClient, author: Any, readers: list[str], outbox: list[Any]
) -> None:
    write(client, "Not yet", published=False)
    post = post_titled(app, "Not yet")
    assert send_of(app, post.id).state == WAITING
    assert outbox == []
    page = parse(client.get(f"/blog/edit/{post.id}").get_data(as_text=True))
    assert "checked" in page.find("input", name="email_subscribers").attrs  # still chosen
    edit(client, post, published=True, email=True)
    assert sorted(message.to[0] for message in outbox) == READERS


def test_unticking_the_box_takes_back_a_waiting_send(
    app: Flask, client: FlaskClient, author: Any, readers: list[str], outbox: list[Any]
) -> None:
    write(client, "Changed my mind", published=False)
    post = post_titled(app, "Changed my mind")
    edit(client, post, published=False, email=False)
    assert send_of(app, post.id) is None
    edit(client, post, published=True, email=False)
    assert outbox == []
    # A form that did not show the option (a script, an old page) changes nothing.
    write(client, "Chosen", published=False)
    chosen = post_titled(app, "Chosen")
    client.post(
        f"/blog/edit/{chosen.id}", data={"title": "Chosen", "body": chosen.body, "summary": ""}
    )
    assert send_of(app, chosen.id).state == WAITING


def test_a_waiting_send_starts_when_the_post_is_published_through_the_api(
    app: Flask,
    client: FlaskClient,
    author: Any,
    readers: list[str],
    outbox: list[Any],
) -> None:
    write(client, "Published elsewhere", published=False)
    post = post_titled(app, "Published elsewhere")
    response = client.patch(
        f"/api/v1/posts/{post.slug}",
        json={"published": True},
        headers={"Authorization": f"Bearer {issue_pair(app, author).access_token}"},
    )
    assert response.status_code == 200
    assert outbox == []  # the API knows nothing of the newsletter...
    run_task(app, sending.DUE_TASK)  # ...the periodic check does
    assert sorted(message.to[0] for message in outbox) == READERS
    run_task(app, sending.DUE_TASK)
    assert len(outbox) == 3


def test_the_scheduled_path_starts_a_waiting_send_when_the_post_goes_live(
    app: Flask, ctx: None, make: Any, readers: list[str], outbox: list[Any]
) -> None:
    """A post published for a time still to come (scheduling) waits; the went-live hook, or
    else the periodic check, starts its send once that time has come."""
    writer = make.user()
    later = utcnow() + timedelta(hours=1)
    post = make.post(author=writer, published=True, published_at=later)
    send = sending.send_post_to_subscribers(writer, post)
    assert send.state == WAITING
    db.session.commit()
    assert sending.start_due_sends() == []
    assert sending.post_went_live(post.id) is False  # not live yet
    assert outbox == []

    # Its time comes: the hook starts the send, once.
    post.published_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert sending.post_went_live(post.id) is True
    assert [job.task_name for job in jobs.pending_jobs()] == [sending.START_TASK]
    db.session.commit()
    assert sorted(message.to[0] for message in outbox) == READERS
    assert sending.post_went_live(post.id) is False
    assert sending.start_due_sends(utcnow() + timedelta(hours=2)) == []


def test_the_periodic_check_starts_what_the_hook_missed(
    app: Flask, ctx: None, make: Any, readers: list[str], outbox: list[Any]
) -> None:
    writer = make.user()
    post = make.post(author=writer, published=True, published_at=utcnow() + timedelta(hours=1))
    send = sending.send_post_to_subscribers(writer, post)
    db.session.commit()
    assert sending.start_due_sends(utcnow() + timedelta(minutes=59)) == []
    assert sending.start_due_sends(utcnow() + timedelta(hours=2)) == [send.id]
    assert sending.start_due_sends(utcnow() + timedelta(hours=2)) == []  # once
    db.session.rollback()


def test_sending_again_reaches_only_subscribers_it_has_not_reached(
    app: Flask, client: FlaskClient, author: Any, readers: list[str], outbox: list[Any]
) -> None:
    write(client, "Again")
    post = post_titled(app, "Again")
    add_subscriber(app, "late@example.com")
    page = parse(client.get(f"/blog/edit/{post.id}").get_data(as_text=True))
    assert "not reached yet" in page.find("label", **{"for": "email_subscribers"}).text
    assert "3 sent" in page.find("p", id="email_subscribers-help").text
    edit(client, post, published=True, email=True)
    assert sorted(message.to[0] for message in outbox) == sorted([*READERS, "late@example.com"])
    assert deliveries_by_state(app, post.id) == {SENT: 4}


def test_a_batch_run_again_emails_nobody_twice(
    app: Flask, client: FlaskClient, author: Any, readers: list[str], outbox: list[Any]
) -> None:
    write(client, "Twice")
    (job,) = batch_jobs(app)
    for _ in range(2):
        assert run_task(app, sending.BATCH_TASK, *job.args).result == 0
    run_task(app, sending.START_TASK, job.args[0])  # planning again plans nothing new
    assert len(batch_jobs(app)) == 1
    assert sorted(message.to[0] for message in outbox) == READERS


def planned(app: Flask, make: Any, addresses: int = 3) -> tuple[int, tuple[int, int]]:
    """A started send whose deliveries are planned but whose batch job never ran (the worker
    holding it died): its send id and its batch's first and last delivery ids."""
    with app.app_context():
        post = make.post()
        send = NewsletterSend(post_id=post.id, state=STARTED)
        db.session.add(send)
        db.session.flush()
        sending.plan_send(send.id)
        (job,) = jobs.pending_jobs()
        jobs.drop_pending()
        db.session.commit()
        return send.id, (job.args[1], job.args[2])


def test_a_fresh_claim_is_left_alone_and_a_stale_one_taken_over(
    app: Flask, make: Any, readers: list[str], outbox: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    send_id, (first, last) = planned(app, make)
    with app.app_context():
        ann, bob = (subscriber_of(app, a).id for a in READERS[:2])
        now = utcnow()
        for subscriber_id, claimed in ((ann, now), (bob, now - timedelta(hours=1))):
            db.session.execute(
                update(Delivery)
                .where(Delivery.send_id == send_id, Delivery.subscriber_id == subscriber_id)
                .values(state=SENDING, claimed_at=claimed, attempts=1)
            )
        db.session.commit()
    with caplog.at_level(logging.WARNING, logger="penpress.newsletter.sending"):
        result = run_task(app, sending.BATCH_TASK, send_id, first, last)
    # Ann's claim is another attempt's, still at work: the batch leaves it and asks to be run
    # again later (here, where retries come at once, it gives up after its retries).
    assert result.failed()
    assert sorted(message.to[0] for message in outbox) == ["bob@example.com", "cy@example.com"]
    assert "an earlier attempt stopped while sending it" in caplog.text
    assert deliveries_by_state(app, make_post_id(app, send_id)) == {SENDING: 1, SENT: 2}


def make_post_id(app: Flask, send_id: int) -> int:
    with app.app_context():
        send = db.session.get(NewsletterSend, send_id)
        assert send is not None
        return send.post_id


def test_unsubscribing_during_a_send_stops_it_for_that_address(
    app: Flask, make: Any, readers: list[str], outbox: list[Any]
) -> None:
    send_id, (first, last) = planned(app, make)
    from penpress.newsletter.tokens import make_unsubscribe_token

    bob = subscriber_of(app, "bob@example.com")
    with app.app_context():
        token = make_unsubscribe_token(bob.id, bob.secret)
    app.test_client().post(
        f"/newsletter/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}
    )
    assert run_task(app, sending.BATCH_TASK, send_id, first, last).result == 2
    assert sorted(message.to[0] for message in outbox) == ["ann@example.com", "cy@example.com"]
    assert deliveries_by_state(app, make_post_id(app, send_id)) == {SENT: 2, SKIPPED: 1}


def test_a_deleted_post_sends_nothing_more(
    app: Flask, make: Any, readers: list[str], outbox: list[Any]
) -> None:
    send_id, (first, last) = planned(app, make)
    with app.app_context():
        db.session.delete(db.session.get(Post, make_post_id(app, send_id)))
        db.session.commit()
    assert run_task(app, sending.BATCH_TASK, send_id, first, last).result == 0
    assert outbox == []


# --- the rate -------------------------------------------------------------------------------


def test_batches_are_scheduled_at_the_rate(
    app: Flask, ctx: None, make: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "NEWSLETTER_RATE_PER_MINUTE", 600)
    monkeypatch.setitem(app.config, "NEWSLETTER_BATCH_SIZE", 100)
    add_many(app, (f"reader{n}@example.com" for n in range(2000)))
    first, second = make.post(), make.post()
    sends = [NewsletterSend(post_id=post.id, state=STARTED) for post in (first, second)]
    db.session.add_all(sends)
    db.session.flush()
    now = utcnow()

    assert sending.plan_send(sends[0].id, now) == 20
    batches = [job for job in jobs.pending_jobs() if job.task_name == sending.BATCH_TASK]
    # One task per 100 deliveries, 10 s apart: 600 a minute.
    assert [job.eta for job in batches] == [now + timedelta(seconds=10 * n) for n in range(20)]
    for minute in range(4):
        window = [
            j
            for j in batches
            if timedelta(minutes=minute) <= j.eta - now < timedelta(minutes=minute + 1)
        ]
        assert len(window) * 100 <= 600
    # Every delivery is in exactly one batch.
    ids = list(
        db.session.scalars(
            select(Delivery.id).where(Delivery.send_id == sends[0].id).order_by(Delivery.id)
        )
    )
    covered = [i for job in batches for i in ids if job.args[1] <= i <= job.args[2]]
    assert covered == ids
    # The outbox sends a batch again only a lease after its time, not before.
    lease = timedelta(seconds=app.config["OUTBOX_LEASE"])
    rows = db.session.scalars(
        select(OutboxJob).where(OutboxJob.task_name == sending.BATCH_TASK).order_by(OutboxJob.id)
    ).all()
    for row, job in zip(rows, batches, strict=True):
        assert timedelta(0) <= row.available_at - (job.eta + lease) < timedelta(seconds=1)

    # A second post asked for at the same moment goes after the first: the rate is for all.
    assert sending.plan_send(sends[1].id, now) == 20
    later = [job for job in jobs.pending_jobs() if job.task_name == sending.BATCH_TASK][20:]
    assert later[0].eta == now + timedelta(seconds=200)
    db.session.rollback()  # nothing is sent


# --- refusals, with a real SMTP server --------------------------------------------------------


@pytest.fixture
def sink() -> Any:
    with smtp_sink() as started:
        yield started


@pytest.fixture
def smtp_app(build_app: Any, sink: SmtpSink) -> Flask:
    return build_app(
        MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port, MAIL_TIMEOUT=5
    )


def send_post(app: Flask, title: str) -> int:
    """Publish a post and email it, the way the editor does; its id."""
    with app.app_context():
        from tests.factories import PostFactory, UserFactory

        writer = UserFactory()
        post = PostFactory(author=writer, title=title)
        sending.send_post_to_subscribers(writer, post)
        db.session.commit()
        return post.id


def test_refused_addresses_are_recorded_and_paused_after_repeated_failures(
    smtp_app: Flask, sink: SmtpSink
) -> None:
    for address in (
        "good@example.com",
        "nobody@example.com",
        "full@example.com",
        "flaky@example.com",
    ):
        add_subscriber(smtp_app, address)
    sink.refuse = {
        "nobody@example.com": "550 5.1.1 No such user",
        "full@example.com": "452 4.2.2 Mailbox full",
        "flaky@example.com": "550 5.7.1 Try later",
    }
    first = send_post(smtp_app, "First")
    assert {m["To"] for m in sink.received()} == {"good@example.com"}
    assert deliveries_by_state(smtp_app, first) == {SENT: 1, FAILED: 3}
    nobody = subscriber_of(smtp_app, "nobody@example.com")
    assert (nobody.status, nobody.failures) == (CONFIRMED, 1)
    assert nobody.last_failure == "550 5.1.1 No such user"
    with smtp_app.app_context():
        full = db.session.scalar(
            select(Delivery).where(
                Delivery.subscriber_id == subscriber_of(smtp_app, "full@example.com").id
            )
        )
        assert (full.state, full.attempts) == (
            FAILED,
            smtp_app.config["NEWSLETTER_DELIVERY_ATTEMPTS"],
        )
        assert full.error.startswith("452")

    del sink.refuse["flaky@example.com"]  # a delivery ends a run of refusals
    send_post(smtp_app, "Second")
    assert subscriber_of(smtp_app, "flaky@example.com").failures == 0
    send_post(smtp_app, "Third")
    assert subscriber_of(smtp_app, "nobody@example.com").status == PAUSED
    assert subscriber_of(smtp_app, "full@example.com").status == PAUSED  # refused 3 times too
    refused_before = sink.refused
    fourth = send_post(smtp_app, "Fourth")
    assert sink.refused == refused_before  # paused addresses are not even tried
    assert deliveries_by_state(smtp_app, fourth) == {SENT: 2}
    good = [m for m in sink.received() if m["To"] == "good@example.com"]
    assert len(good) == 4
    assert duplicates(sink.received()) == {}


def test_a_mail_server_outage_leaves_the_batch_for_later(
    smtp_app: Flask, sink: SmtpSink, outbox: list[Any]
) -> None:
    for address in READERS:
        add_subscriber(smtp_app, address)
    sink.stop()
    post_id = send_post(smtp_app, "Down")
    assert deliveries_by_state(smtp_app, post_id) == {"queued": 3}  # released, nothing lost
    sink.start()
    (job,) = batch_jobs(smtp_app)
    assert run_task(smtp_app, sending.BATCH_TASK, *job.args).result == 3
    assert sorted(m["To"] for m in sink.received()) == READERS


# --- the email's HTML -------------------------------------------------------------------------


def test_links_and_images_become_absolute(app: Flask) -> None:
    html = (
        '<p><a href="/blog/tag/x">t</a> <a href="#fn1">1</a> <a href="mailto:a@example.com">m</a>'
        ' <a href="https://other.example/x" rel="nofollow">o</a></p>'
        '<img src="/media/a.jpg" srcset="/media/a-400.jpg 400w" sizes="100vw" loading="lazy"'
        ' alt="A">'
    )
    with app.app_context():
        out = str(rendering.absolute_html(html, "https://blog.example/blog/post/p"))
    assert 'href="https://blog.example/blog/tag/x"' in out
    assert 'href="https://blog.example/blog/post/p#fn1"' in out
    assert 'href="mailto:a@example.com"' in out
    assert '<a href="https://other.example/x" rel="nofollow">' in out
    assert '<img src="https://blog.example/media/a.jpg" alt="A">' in out
