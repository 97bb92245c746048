"""Scheduled and backdated posts: invisible to readers everywhere until their time, then
visible with nothing having to run; the went-live step marks each post once, counts it (the
counters count only posts gone live) and empties the page cache; only those who may publish
schedule; times typed in the author's own time zone."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from penpress.accounts.models import User
from penpress.blog import counts
from penpress.blog.models import Post, PostStatus, Tag, post_tags
from penpress.blog.services import posts as post_services
from penpress.blog.services import review
from penpress.blog.services.tags import TAG_COUNTS_CACHE_KEY, tags_with_counts
from penpress.database import utcnow
from penpress.errors import Forbidden, Invalid
from penpress.extensions import cache, db
from penpress.jobs import PeriodicRunner
from penpress.outbox import OutboxJob
from tests.conftest import Make
from tests.pages import login

SECRET = "The scheduled secret"
TAG = "launch"


def write(user: User, **kwargs: Any) -> Post:
    """Create a post through the service (as every front door does) and commit."""
    # Read afresh, not merged: a merged stale copy would write its old counters back.
    post = post_services.create_post(db.session.get(User, user.id), **kwargs)
    db.session.commit()
    return post


def schedule_in(app: Flask, author: User, seconds: float) -> Post:
    with app.app_context():
        return write(
            author,
            title=SECRET,
            body="Not before its time.",
            tags=[TAG],
            published=True,
            publish_at=utcnow() + timedelta(seconds=seconds),
        )


def time_passes(app: Flask, post: Post) -> None:
    """Its time has come: move its date into the past rather than sleep (and the post_tags
    copies with it, as the services keep them)."""
    with app.app_context():
        when = utcnow() - timedelta(seconds=1)
        db.session.execute(update(Post).where(Post.id == post.id).values(published_at=when))
        db.session.execute(
            update(post_tags).where(post_tags.c.post_id == post.id).values(published_at=when)
        )
        db.session.commit()


def went_live_step(app: Flask) -> list[int]:
    with app.app_context():
        marked = post_services.mark_due_posts_live()
        db.session.commit()
    return marked


def went_live_jobs(app: Flask, post_id: int | None = None) -> list[list[Any]]:
    with app.app_context():
        rows = db.session.scalars(
            select(OutboxJob.args).where(OutboxJob.task_name == post_services.WENT_LIVE_TASK)
        ).all()
    return [list(args) for args in rows if post_id is None or args == [post_id]]


# --- what readers see, everywhere --------------------------------------------------------


def reader_views(client: FlaskClient, slug: str) -> dict[str, bool]:
    """Whether the post shows, by place a reader (anonymous) may look."""

    def has(path: str, **kwargs: Any) -> bool:
        response = client.get(path, **kwargs)
        assert response.status_code in (200, 404), (path, response.status_code)
        return SECRET in response.get_data(as_text=True) or slug in response.get_data(as_text=True)

    api_list = client.get("/api/v1/posts").get_json()["posts"]
    conduit_list = client.get("/realworld/api/articles").get_json()["articles"]
    api_tags = {t["name"]: t["post_count"] for t in client.get("/api/v1/tags").get_json()["tags"]}
    conduit_tags = client.get("/realworld/api/tags").get_json()["tags"]
    return {
        "home": has("/"),
        "list": has("/blog/"),
        "search": has("/search?q=scheduled+secret"),
        "post page": client.get(f"/blog/post/{slug}").status_code == 200,
        "tag page": has(f"/blog/tag/{TAG}"),
        "author page": has("/blog/author/writer"),
        "site feed": has("/feed.xml"),
        "site rss": has("/feed.rss"),
        "author feed": has("/blog/author/writer/feed.xml"),
        "api search": any(
            p["slug"] == slug
            for p in client.get("/api/v1/posts?q=scheduled+secret").get_json()["posts"]
        ),
        "tag feed": has(f"/blog/tag/{TAG}/feed.xml"),
        "sitemap": has("/sitemap.xml"),
        "api list": any(p["slug"] == slug for p in api_list),
        "api read": client.get(f"/api/v1/posts/{slug}").status_code == 200,
        "api tag count": api_tags.get(TAG, 0) == 1,
        "conduit list": any(a["slug"] == slug for a in conduit_list),
        "conduit read": client.get(f"/realworld/api/articles/{slug}").status_code == 200,
        "conduit tags": TAG in conduit_tags,
        "home tag count": TAG in client.get("/").get_data(as_text=True),
    }


def test_a_scheduled_post_is_invisible_everywhere_until_its_time_then_everywhere(
    app: Flask, client: FlaskClient, make: Make
) -> None:
    author = make.user(username="writer")
    make.post(author=author, title="Already out")  # the author has a page either way
    post = schedule_in(app, author, 30)

    hidden = reader_views(client, post.slug)
    assert not any(hidden.values()), {place for place, seen in hidden.items() if seen}
    # Signed-in readers who are not its author are readers too.
    login(client, make.user(role_name="reader").email)
    assert client.get(f"/blog/post/{post.slug}").status_code == 404
    client.post("/auth/logout")

    time_passes(app, post)  # no request, no job: its time has simply come
    assert client.get(f"/blog/post/{post.slug}").status_code == 200
    assert client.get(f"/api/v1/posts/{post.slug}").status_code == 200
    assert client.get(f"/realworld/api/articles/{post.slug}").status_code == 200
    # The went-live step then counts it (tags, author, total) and empties the page cache.
    assert went_live_step(app) == [post.id]
    shown = reader_views(client, post.slug)
    assert all(shown.values()), {place for place, seen in shown.items() if not seen}


def test_the_went_live_step_drops_cached_tag_counts(
    app: Flask, client: FlaskClient, make: Make
) -> None:
    # With a real cache (the Redis pass), counts cached before the time are dropped by the
    # periodic step; without one, they are counted afresh each time anyway.
    author = make.user()
    post = schedule_in(app, author, 30)
    time_passes(app, post)
    with app.app_context():
        cache.set(TAG_COUNTS_CACHE_KEY, [], timeout=300)  # counted before its time
        assert post_services.mark_due_posts_live() == [post.id]
        db.session.commit()
        assert (TAG, TAG, 1) in tags_with_counts()


def test_author_and_admins_see_a_scheduled_post_with_its_badge(
    app: Flask, client: FlaskClient, make: Make
) -> None:
    author = make.user(username="writer", time_zone="Europe/Paris")
    with app.app_context():
        post = write(
            author,
            title=SECRET,
            body="Soon.",
            published=True,
            publish_at=datetime(2999, 7, 1, 7, 0, tzinfo=UTC),
        )
    login(client, author.email)
    page = client.get(f"/blog/post/{post.slug}").get_data(as_text=True)
    assert "Scheduled for Jul 1, 2999, 09:00 CEST" in page  # in the author's own zone
    assert '<meta name="robots" content="noindex">' in page
    assert "Comments open once the post is published." in page
    mine = client.get("/blog/my-posts").get_data(as_text=True)
    assert SECRET in mine
    assert "Scheduled for Jul 1, 2999, 09:00 CEST" in mine
    # ... but not in the lists readers see, even for its author.
    assert SECRET not in client.get("/blog/").get_data(as_text=True)
    client.post("/auth/logout")
    login(client, make.user(role_name="admin").email)  # an admin in UTC
    assert "Scheduled for Jul 1, 2999, 07:00 UTC" in client.get(f"/blog/post/{post.slug}").get_data(
        as_text=True
    )


def test_nobody_comments_on_a_scheduled_post(app: Flask, make: Make) -> None:
    author = make.user()
    post = schedule_in(app, author, 60)
    with app.app_context(), pytest.raises(Exception, match="No such post"):
        post_services_comments_add(author, post)


def post_services_comments_add(user: User, post: Post) -> None:
    from penpress.blog.services.comments import add_comment

    add_comment(db.session.merge(user), db.session.merge(post), "First!")


# --- the editor: schedule, backdate, time zones -------------------------------------------


def editor_data(**overrides: str) -> dict[str, str]:
    data = {"title": SECRET, "summary": "", "body": "Text.", "tags": ""}
    data.update(overrides)
    return data


def stored(app: Flask, title: str = SECRET) -> Post:
    with app.app_context():
        post = db.session.scalar(select(Post).where(Post.title == title))
        assert post is not None
        return post


@pytest.mark.parametrize(
    ("local", "utc_hour"),
    [("2030-01-15T09:00", 8), ("2030-07-15T09:00", 7)],  # CET (winter), CEST (summer)
)
def test_a_time_typed_in_paris_is_stored_in_utc(
    app: Flask, client: FlaskClient, make: Make, local: str, utc_hour: int
) -> None:
    author = make.user(time_zone="Europe/Paris")
    login(client, author.email)
    response = client.post("/blog/create", data=editor_data(publish_at=local, schedule="Schedule"))
    assert response.status_code == 303
    post = stored(app)
    assert post.published
    assert post.published_at is not None
    assert post.published_at.astimezone(UTC).hour == utc_hour
    assert post.published_at.tzinfo is not None
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Post scheduled for" in follow
    assert f"{local[11:]} CE" in follow  # shown back in Paris time


def test_the_site_default_time_zone_applies_without_a_preference(
    app: Flask, client: FlaskClient, make: Make
) -> None:
    from penpress.settings.services import set_default_time_zone

    admin = make.user(role_name="admin")
    with app.app_context():
        set_default_time_zone(db.session.merge(admin), "America/New_York")
        db.session.commit()
    author = make.user()
    login(client, author.email)
    page = client.get("/blog/create").get_data(as_text=True)
    assert "In your time zone, America/New_York" in page
    client.post("/blog/create", data=editor_data(publish_at="2030-01-15T09:00", schedule="y"))
    assert stored(app).published_at == datetime(2030, 1, 15, 14, 0, tzinfo=UTC)


def test_schedule_needs_a_time_to_come(app: Flask, client: FlaskClient, make: Make) -> None:
    login(client, make.user().email)
    for value in ("", "2001-01-01T10:00"):
        response = client.post("/blog/create", data=editor_data(publish_at=value, schedule="y"))
        assert response.status_code == 422
        assert "Choose a date and time in the future" in response.get_data(as_text=True)
    bad = client.post("/blog/create", data=editor_data(publish_at="tomorrow", published="y"))
    assert bad.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count(Post.id))) == 0


def test_backdating_publishes_with_the_past_date(
    app: Flask, client: FlaskClient, make: Make
) -> None:
    author = make.user()
    make.post(author=author, title="Written last week")
    login(client, author.email)
    response = client.post(
        "/blog/create", data=editor_data(published="y", publish_at="2020-05-04T10:30")
    )
    assert response.status_code == 303
    post = stored(app)
    assert post.published_at == datetime(2020, 5, 4, 10, 30, tzinfo=UTC)
    assert post.went_live_at is not None  # it is live at once
    assert len(went_live_jobs(app, post.id)) == 1
    page = client.get("/blog/").get_data(as_text=True)
    assert page.index("Written last week") < page.index(SECRET)  # sorted by its old date
    assert 'datetime="2020-05-04T10:30:00+00:00"' in page


def test_editing_keeps_the_date_and_can_move_it(
    app: Flask, client: FlaskClient, make: Make
) -> None:
    author = make.user(time_zone="Asia/Tokyo")
    with app.app_context():
        post = write(author, title=SECRET, body="Live.", published=True)
    original = post.published_at
    login(client, author.email)
    form = client.get(f"/blog/edit/{post.id}").get_data(as_text=True)
    local = original.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert f'value="{local:%Y-%m-%dT%H:%M}"' in form
    # Saved again as shown (minutes only): the exact date stays.
    client.post(
        f"/blog/edit/{post.id}",
        data=editor_data(published="y", publish_at=f"{local:%Y-%m-%dT%H:%M}", body="Edited."),
    )
    assert stored(app).published_at == original
    # Moved into the future: scheduled (hidden again), its went-live job not queued twice.
    client.post(
        f"/blog/edit/{post.id}",
        data=editor_data(published="y", publish_at="2999-01-01T09:00", body="Edited."),
    )
    moved = stored(app)
    assert moved.published_at == datetime(2999, 1, 1, 0, 0, tzinfo=UTC)
    assert post_services.post_status(moved) == "scheduled"
    client.post("/auth/logout")
    assert client.get(f"/blog/post/{post.slug}").status_code == 404
    assert len(went_live_jobs(app, post.id)) == 1


def test_a_draft_keeps_its_planned_date_and_publishes_with_it(
    app: Flask, client: FlaskClient, make: Make
) -> None:
    author = make.user()
    login(client, author.email)
    client.post("/blog/create", data=editor_data(publish_at="2999-03-01T12:00"))
    draft = stored(app)
    assert not draft.published
    assert post_services.post_status(draft) == "draft"
    client.post(
        f"/blog/edit/{draft.id}", data=editor_data(published="y", publish_at="2999-03-01T12:00")
    )
    assert post_services.post_status(stored(app)) == "scheduled"


# --- the went-live step -----------------------------------------------------------------------


def test_the_went_live_step_marks_each_post_once_and_queues_its_job_once(
    app: Flask, make: Make
) -> None:
    author = make.user()
    first = schedule_in(app, author, 30)
    with app.app_context():
        second = write(
            author,
            title="Second",
            body="x",
            published=True,
            publish_at=utcnow() + timedelta(hours=1),
        )
    with app.app_context():
        assert post_services.mark_due_posts_live() == []  # nothing due yet
        db.session.commit()
    time_passes(app, first)
    for _ in range(3):
        with app.app_context():
            post_services.mark_due_posts_live()
            db.session.commit()
    assert went_live_jobs(app) == [[first.id]]
    time_passes(app, second)
    with app.app_context():
        assert post_services.mark_due_posts_live() == [second.id]
        db.session.commit()
    assert sorted(went_live_jobs(app)) == sorted([[first.id], [second.id]])


def test_a_post_published_now_goes_live_at_once_and_once(app: Flask, make: Make) -> None:
    author = make.user()
    with app.app_context():
        post = write(author, title="Now", body="x", published=True)
        assert post.went_live_at is not None
        post_services.update_post(db.session.merge(author), post, published=False)
        post_services.update_post(db.session.merge(author), post, published=True)
        db.session.commit()
        assert post_services.mark_due_posts_live() == []
        db.session.commit()
    assert went_live_jobs(app) == [[post.id]]


def test_two_processes_running_the_step_at_once_queue_each_job_once(app: Flask, make: Make) -> None:
    author = make.user()
    due = [schedule_in(app, author, 30) for _ in range(5)]
    for post in due:
        time_passes(app, post)
    start = threading.Barrier(2)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        # Each "process" has its own app context, session and database connection.
        try:
            with app.app_context():
                start.wait(5)
                results.append(post_services.mark_due_posts_live())
                db.session.commit()
        except BaseException as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(results[0] + results[1]) == sorted(post.id for post in due)
    assert sorted(went_live_jobs(app)) == sorted([post.id] for post in due)


def test_the_went_live_job_runs_for_a_post_readers_see(app: Flask, make: Make) -> None:
    # This app's own Celery task (another test's app may be Celery's default by now).
    post_went_live = app.extensions["celery"].tasks[post_services.WENT_LIVE_TASK]
    author = make.user()
    post = schedule_in(app, author, 60)
    with app.app_context():
        assert post_went_live.apply(args=(post.id,)).result is False  # not yet
    time_passes(app, post)
    with app.app_context():
        assert post_went_live.apply(args=(post.id,)).result is True
        assert post_went_live.apply(args=(999_999,)).result is False


@pytest.fixture
def runner(app: Flask) -> Iterator[PeriodicRunner]:
    """The went-live step on a fast schedule in a thread, as a web process runs it."""
    thread = PeriodicRunner(app, {post_services.PUBLISH_DUE_TASK: 0.2}, tick=0.1)
    thread.start()
    yield thread
    thread.stop()
    thread.join(5)


def test_in_real_time_a_post_appears_at_its_time_without_any_request(
    app: Flask, client: FlaskClient, make: Make, runner: PeriodicRunner
) -> None:
    author = make.user()
    post = schedule_in(app, author, 2)
    assert client.get(f"/blog/post/{post.slug}").status_code == 404
    assert client.get("/api/v1/tags").get_json()["tags"] == []
    deadline = time.monotonic() + 15
    while not went_live_jobs(app, post.id) and time.monotonic() < deadline:
        time.sleep(0.2)  # no request meanwhile: only the clock and the periodic step
    assert went_live_jobs(app, post.id) == [[post.id]]
    with app.app_context():
        marked = db.session.get(Post, post.id)
        assert marked is not None
        assert marked.went_live_at is not None
        assert marked.published_at is not None
        assert marked.went_live_at >= marked.published_at
    assert client.get(f"/blog/post/{post.slug}").status_code == 200
    assert client.get("/api/v1/tags").get_json()["tags"][0]["name"] == TAG
    sitemap = ET.fromstring(client.get("/sitemap.xml").data)  # noqa: S314  (our own output)
    assert any(post.slug in (loc.text or "") for loc in sitemap.iter())


# --- service rules --------------------------------------------------------------------------


def test_publish_at_must_be_aware_and_within_reason(app: Flask, make: Make) -> None:
    author = make.user()
    with app.app_context():
        me = db.session.merge(author)
        with pytest.raises(Invalid, match="offset from UTC"):
            post_services.create_post(
                me, title="x", body="y", published=True, publish_at=datetime(2030, 1, 1)
            )
        with pytest.raises(Invalid, match="between the years"):
            post_services.create_post(
                me,
                title="x",
                body="y",
                published=True,
                publish_at=datetime(9999, 12, 31, 23, tzinfo=UTC),
            )
        with pytest.raises(Invalid, match="in the future"):
            post_services.create_post(
                me, title="x", body="y", schedule=True, publish_at=utcnow() - timedelta(1)
            )
        db.session.rollback()


def counters_of(app: Flask, author: User, tag: str = TAG) -> tuple[int, int, int]:
    """(the author's post count, the tag's, the published total), as stored; and the proof
    that they equal a recount from the rows."""
    with app.app_context():
        stored = counts.snapshot()
        counts.recount()
        assert counts.snapshot() == stored
        db.session.rollback()
        users = stored["users"]
        tags = dict(db.session.execute(select(Tag.slug, Tag.post_count)).all())
        assert isinstance(users, dict)
        return users[author.id][0], tags.get(tag, 0), int(stored["published"])  # type: ignore[call-overload]


def test_counters_take_a_scheduled_post_in_once_when_it_goes_live(app: Flask, make: Make) -> None:
    author = make.user()
    post = schedule_in(app, author, 30)
    assert counters_of(app, author) == (0, 0, 0)  # scheduled: counted nowhere yet
    time_passes(app, post)
    assert counters_of(app, author) == (0, 0, 0)  # seen by readers; counted by the step
    assert went_live_step(app) == [post.id]
    assert counters_of(app, author) == (1, 1, 1)
    assert went_live_step(app) == []  # exactly once
    assert counters_of(app, author) == (1, 1, 1)
    with app.app_context():
        me = db.session.get(User, author.id)
        live = post_services.get_post_to_edit(me, post.id)
        # Moved back into the future: off the counters, until it goes live again.
        post_services.update_post(me, live, publish_at=utcnow() + timedelta(hours=1))
        db.session.commit()
    assert counters_of(app, author) == (0, 0, 0)
    time_passes(app, post)
    assert went_live_step(app) == [post.id]
    assert counters_of(app, author) == (1, 1, 1)
    with app.app_context():
        me = db.session.get(User, author.id)
        live = post_services.get_post_to_edit(me, post.id)
        post_services.update_post(me, live, published=False)
        db.session.commit()
        assert counters_of(app, author) == (0, 0, 0)
        post_services.update_post(me, live, published=True)  # counted again at once
        db.session.commit()
        assert counters_of(app, author) == (1, 1, 1)
        post_services.delete_post(me, live)
        db.session.commit()
    assert counters_of(app, author) == (0, 0, 0)


def test_deleting_a_scheduled_post_leaves_the_counters_alone(app: Flask, make: Make) -> None:
    author = make.user()
    with app.app_context():
        write(author, title="Out now", body="x", tags=[TAG], published=True)
    post = schedule_in(app, author, 30)
    assert counters_of(app, author) == (1, 1, 1)
    with app.app_context():
        me = db.session.get(User, author.id)
        post_services.delete_post(me, post_services.get_post_to_edit(me, post.id))
        db.session.commit()
    assert counters_of(app, author) == (1, 1, 1)


def test_the_went_live_step_empties_the_page_cache(build_app: Any) -> None:
    # A real cache: anonymous readers get the home page from the page cache, which must not
    # keep showing the site without the post once the step has marked it.
    cached = build_app(CACHE_TYPE="SimpleCache")
    with cached.app_context():
        author = db.session.merge(factories_user())
        post = write(
            author,
            title=SECRET,
            body="x",
            tags=[TAG],
            published=True,
            publish_at=utcnow() + timedelta(hours=1),
        )
        post_id, slug = post.id, post.slug
    reader = cached.test_client()
    assert SECRET not in reader.get("/").get_data(as_text=True)
    with cached.app_context():
        db.session.execute(update(Post).where(Post.id == post_id).values(published_at=utcnow()))
        db.session.commit()
        assert post_services.mark_due_posts_live() == [post_id]
        db.session.commit()
    home = reader.get("/").get_data(as_text=True)
    assert SECRET in home
    assert reader.get(f"/blog/post/{slug}").status_code == 200


# --- who may schedule ----------------------------------------------------------------------


def test_contributors_cannot_schedule_or_date_a_post(app: Flask, make: Make) -> None:
    contributor = make.user(role_name="contributor")
    later = utcnow() + timedelta(days=1)
    with app.app_context():
        me = db.session.merge(contributor)
        with pytest.raises(Forbidden):
            post_services.create_post(me, title="x", body="y", publish_at=later)
        with pytest.raises(Forbidden):
            post_services.create_post(me, title="x", body="y", schedule=True, publish_at=later)
        draft = post_services.create_post(me, title="Mine", body="y")
        with pytest.raises(Forbidden):
            post_services.update_post(me, draft, publish_at=later, published=False)
        with pytest.raises(Forbidden):
            post_services.update_post(me, draft, schedule=True, publish_at=later)
        db.session.rollback()


def test_a_contributors_editor_gets_no_date_field_nor_schedule_button(
    client: FlaskClient, make: Make
) -> None:
    login(client, make.user(role_name="contributor").email)
    page = client.get("/blog/create").get_data(as_text=True)
    assert 'name="publish_at"' not in page
    assert 'name="schedule"' not in page
    assert 'name="submit_for_review"' in page


def test_an_editor_schedules_a_submission(app: Flask, make: Make) -> None:
    writer = make.user(role_name="contributor")
    editor = make.user(role_name="editor")
    later = utcnow() + timedelta(days=2)
    with app.app_context():
        mine = post_services.create_post(db.session.merge(writer), title="For review", body="y")
        review.submit_post(db.session.merge(writer), mine)
        db.session.commit()
        post = review.publish_submission(db.session.merge(editor), mine.id, publish_at=later)
        db.session.commit()
        assert (post.state, post_services.post_status(post)) == (
            PostStatus.PUBLISHED,
            "scheduled",
        )
        assert post.published_at == later
        assert post.went_live_at is None
        assert not post.counted
        emails = db.session.scalars(
            select(OutboxJob.args).where(OutboxJob.task_name == post_services.REVIEW_EMAIL_TASK)
        ).all()
        assert [list(args) for args in emails] == [[post.id, "published"]]


def factories_user() -> User:
    from tests.factories import UserFactory

    return UserFactory()


@pytest.mark.skip_allowed_in_ci(reason="a SQLite plan: PostgreSQL plans by statistics")
def test_the_went_live_step_reads_only_posts_not_marked_yet(app: Flask, make: Make) -> None:
    # It runs every 20 s: along its own index, never across every live post.
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL plans by statistics; SQLite's plan is fixed by the query")
        statement = post_services._due(utcnow())
        compiled = statement.compile(dialect=db.engine.dialect)
        params = tuple(compiled.construct_params()[name] for name in compiled.positiontup or ())
        plan = " ".join(
            str(row[-1])
            for row in db.session.connection().exec_driver_sql(
                f"EXPLAIN QUERY PLAN {compiled}",
                tuple(
                    value.replace(tzinfo=None).isoformat(" ") if isinstance(value, datetime)
                    else value
                    for value in params
                ),
            )
        )  # fmt: skip
    assert "ix_posts_went_live_at_published_at" in plan, plan
