"""The writer's journey from issue #11, end to end in headless Chromium, on a site of its own.

The owner holds comments for approval (/admin/settings); a writer signs up (a reader, the
default role) and the owner makes them an author and another member a moderator
(/admin/users); the writer writes a post in the editor with an image uploaded by the button
(a PNG made with Pillow), a featured image, tags and a footnote, checks the footnote in the
Preview tab and schedules the post a little ahead; it shows on the home page at its time with
nobody doing anything (the server's periodic runner, or the page's own visibility check); a
reader finds it with the header search, reads it and comments with a link; the moderator
approves the comment in the console; the post is in ``/feed.rss`` (with its picture as the
enclosure) and in the author's Atom feed.

Screenshots of the editor, the post page and the search page at desktop (1280 px) and phone
(390 px) widths go to ``test-artifacts/e2e/`` (or ``$PENPRESS_ARTIFACTS``). Every wait is on
a condition; the one on the clock is a poll with a deadline. Any console error, page error or
failed request fails the test.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest

from tests import images
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, serve, watch_problems

pytestmark = pytest.mark.slow

PASSWORD = "journey-password"
TITLE = "Reading the tide tables"
SLUG = "reading-the-tide-tables"
BODY = (
    "Low water comes twice a day, and the almanac[^1] says when.\n\n"
    "Bring boots and a **flask of tea**.\n\n"
    "[^1]: Printed each spring by the harbour office.\n\n"
)
COMMENT_LINK = "https://tides.example.com/almanac"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# How long after its time a scheduled post may take to show (the periodic runner's period for
# the page cache is 20 s); a bound for the poll, not a pause.
SHOWS_WITHIN = timedelta(seconds=60)


@pytest.fixture(scope="module")
def journey_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty site (no seeded posts) with the settings a fresh install has."""
    with serve(tmp_path_factory.mktemp("journey"), seed=False) as address:
        yield address


class People:
    """One browser context (its own cookies) per person, each page watched for problems."""

    def __init__(self, browser: Any, server: str) -> None:
        self.browser = browser
        self.server = server
        self.problems: list[str] = []
        self.contexts: list[Any] = []

    def page(self) -> Any:
        context = self.browser.new_context(viewport=DESKTOP)
        self.contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # "leave the page?" and the like
        watch_problems(page, self.problems, error_statuses=True)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def submit(page: Any, form: str) -> None:
    """Press the main button of ``form`` and wait for the page it leads to."""
    with page.expect_navigation():
        page.locator(f"{form} [type=submit]").first.click()


def log_in(page: Any, server: str, email: str, password: str) -> None:
    page.goto(f"{server}/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    submit(page, "form:has(input[name=password])")
    assert page.locator("form[action$='/auth/logout']").count() == 1, "the login failed"


def register(page: Any, server: str, name: str) -> None:
    page.goto(f"{server}/auth/register")
    page.fill("input[name=username]", name)
    page.fill("input[name=email]", f"{name}@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password_confirm]", PASSWORD)
    submit(page, "form:has(input[name=password_confirm])")
    if page.locator("form[action$='/auth/logout']").count() == 0:  # not logged in at once
        log_in(page, server, f"{name}@example.com", PASSWORD)


def set_role(owner: Any, server: str, username: str, role: str) -> None:
    owner.goto(f"{server}/admin/users")
    form = owner.locator(f"form[action*='/users/{username}/role']")
    form.locator("select").select_option(role)
    with owner.expect_navigation():
        form.locator("button").click()
    owner.locator(".flash", has_text=f"{username} is now {role}.").wait_for()


def screenshots(page: Any, folder: Path, name: str) -> None:
    """``<name>-desktop.png`` and ``<name>-phone.png`` of the page as it is; the phone one
    also checks nothing scrolls sideways."""
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(folder / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"), (
        f"the {name} page scrolls sideways on a phone"
    )
    page.screenshot(path=str(folder / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def next_whole_minute(now: datetime, at_least: timedelta = timedelta(seconds=15)) -> datetime:
    """The first whole minute at least ``at_least`` after ``now`` (so 15 to 75 s ahead): the
    editor's date and time field takes minutes, as a writer picks them."""
    earliest = now + at_least
    moment = earliest.replace(second=0, microsecond=0)
    return moment if moment == earliest else moment + timedelta(minutes=1)


def test_a_writer_writes_schedules_is_found_read_commented_and_fed(
    journey_server: str, browser_page: Any, artifacts: Path
) -> None:
    server = journey_server
    people = People(browser_page.context.browser, server)
    try:
        journey(server, people, artifacts)
    finally:
        people.close()
    assert people.problems == [], (
        f"browser errors (CSP, JavaScript, failed requests): {people.problems}"
    )


def journey(server: str, people: People, artifacts: Path) -> None:
    # --- the owner holds comments for a moderator -------------------------------------------------
    owner = people.page()
    log_in(owner, server, ADMIN_EMAIL, ADMIN_PASSWORD)
    owner.goto(f"{server}/admin/settings")
    owner.select_option("select[name=comments_mode]", "approval")
    with owner.expect_navigation():
        owner.get_by_role("button", name="Save settings").click()
    owner.locator(".flash", has_text="Settings saved.").wait_for()

    # --- a writer and a moderator sign up; the owner gives them their roles -----------------------
    writer = people.page()
    register(writer, server, "tidewriter")
    moderator = people.page()
    register(moderator, server, "tidemoderator")
    set_role(owner, server, "tidewriter", "author")
    set_role(owner, server, "tidemoderator", "moderator")

    # --- the writer writes: an image by the button, a featured image, tags, a footnote ------------
    writer.goto(f"{server}/blog/create")
    writer.fill("input[name=title]", TITLE)
    writer.fill("[name=summary]", "When the sea goes out, and how to know.")
    writer.fill("textarea[name=body]", BODY)
    writer.click("textarea[name=body]")
    writer.keyboard.press("Control+End")
    with writer.expect_file_chooser() as chooser:
        writer.click("[data-insert-image]")
    chooser.value.set_files(
        {"name": "Mudflats.png", "mimeType": "image/png", "buffer": images.png((1200, 800))}
    )
    writer.wait_for_function(
        "() => /!\\[Mudflats\\]\\(http[^)]*\\/media\\/[0-9a-f]{32}\\.png\\)/"
        ".test(document.querySelector('textarea[name=body]').value)"
    )
    writer.set_input_files(
        "[data-featured-upload]",
        {"name": "harbour.png", "mimeType": "image/png", "buffer": images.png((1600, 900))},
    )
    writer.wait_for_function(
        "() => /^[0-9]+$/.test(document.querySelector('input[name=featured_image]:checked').value)"
    )
    writer.fill("input[name=featured_image_alt]", "The harbour at low water")
    writer.fill("input[name=tags]", "tides, harbour")

    # --- the Preview tab shows the footnote as readers will see it --------------------------------
    writer.click("#tab-preview")
    preview = writer.locator("#panel-preview")
    preview.locator("sup.footnote-ref a[href='#fn-1']").wait_for()
    assert "harbour office" in preview.locator("section.footnotes li#fn-1").inner_text()
    preview.locator(".post-body img[src*='/media/']").wait_for()
    writer.click("#tab-write")
    screenshots(writer, artifacts, "journey-editor")

    # --- scheduled for a little later -------------------------------------------------------------
    due = next_whole_minute(datetime.now(UTC))
    writer.fill("input[name=publish_at]", due.strftime("%Y-%m-%dT%H:%M"))
    with writer.expect_navigation():
        writer.get_by_role("button", name="Schedule").click()
    assert writer.url == f"{server}/blog/post/{SLUG}"
    writer.get_by_text(f"Scheduled for {due:%b} {due.day}, {due:%Y, %H:%M} UTC").first.wait_for()

    # --- before its time nobody else sees it; at its time it is on the home page ------------------
    anonymous = people.page()
    anonymous.goto(f"{server}/")
    assert anonymous.get_by_text(TITLE).count() == 0
    assert anonymous.request.get(f"{server}/blog/post/{SLUG}").status == 404
    assert datetime.now(UTC) < due, "the checks above ran after the post's time: no proof"
    reader = people.page()
    register(reader, server, "tidereader")  # meanwhile, a reader signs up

    deadline = due + SHOWS_WITHIN
    while anonymous.locator(f"a[href='/blog/post/{SLUG}']").count() == 0:
        assert datetime.now(UTC) < deadline, f"not on the home page by {deadline:%H:%M:%S}"
        anonymous.wait_for_timeout(1000)  # a poll of the home page, once a second
        anonymous.reload()
    shown = datetime.now(UTC)
    assert shown >= due, "shown before its time"

    # --- the reader finds it with the header search -----------------------------------------------
    reader.goto(f"{server}/")
    reader.locator("#site-search-q").fill("almanac boots")
    with reader.expect_navigation():
        reader.locator("form.site-search [type=submit]").click()
    assert "/search?q=almanac+boots" in reader.url
    hit = reader.locator(".search-results .search-hit", has_text=TITLE)
    assert hit.locator("mark", has_text="almanac").count() >= 1
    screenshots(reader, artifacts, "journey-search")

    # --- reads it: the picture, the footnote ------------------------------------------------------
    with reader.expect_navigation():
        hit.locator(f"a[href='/blog/post/{SLUG}']").first.click()
    reader.wait_for_function(
        "() => [...document.querySelectorAll('.post-body img, .post-featured img')].length === 2"
        " && [...document.querySelectorAll('.post-body img, .post-featured img')].every("
        "(img) => img.complete && img.naturalWidth > 0)"
    )
    assert reader.locator(".post-featured img").get_attribute("alt") == "The harbour at low water"
    assert "harbour office" in reader.locator(".post-body section.footnotes").inner_text()
    assert reader.locator("a[href='/blog/tag/tides']").count() >= 1
    screenshots(reader, artifacts, "journey-post")

    # --- comments with a link: held for the moderator ---------------------------------------------
    # Comments are plain text; an address in one becomes a link (nofollow, ugc).
    reader.fill("textarea[name=body]", f"The almanac online, {COMMENT_LINK}, has next week's too.")
    submit(reader, "form:has(textarea[name=body])")
    reader.locator(".flash", has_text="awaiting approval").wait_for()
    anonymous.goto(f"{server}/blog/post/{SLUG}")
    assert anonymous.locator(f".comment a[href='{COMMENT_LINK}']").count() == 0

    # --- the moderator approves it in the console -------------------------------------------------
    moderator.goto(f"{server}/admin/comments")
    waiting = moderator.locator(".moderation-item", has_text="has next week's too")
    with moderator.expect_navigation():
        waiting.get_by_role("button", name="Approve").click()
    moderator.locator(".flash", has_text="Comment approved.").wait_for()
    anonymous.goto(f"{server}/blog/post/{SLUG}")
    link = anonymous.locator(f".comment a[href='{COMMENT_LINK}']")
    assert link.inner_text() == COMMENT_LINK
    assert {"nofollow", "ugc"} <= set((link.get_attribute("rel") or "").split())

    # --- the feeds carry it -----------------------------------------------------------------------
    rss = feedparser.parse(anonymous.request.get(f"{server}/feed.rss").body())
    assert not rss.bozo, rss.get("bozo_exception")
    [entry] = [e for e in rss.entries if e.title == TITLE]
    assert entry.link == f"{server}/blog/post/{SLUG}"
    assert "harbour office" in entry.content[0].value
    [enclosure] = entry.enclosures
    assert enclosure.href.startswith(f"{server}/media/")
    assert enclosure.type == "image/png"
    picture = anonymous.request.get(enclosure.href)
    assert picture.ok
    assert len(picture.body()) == int(enclosure.length)
    atom = feedparser.parse(
        anonymous.request.get(f"{server}/blog/author/tidewriter/feed.xml").body()
    )
    assert not atom.bozo, atom.get("bozo_exception")
    assert [e.title for e in atom.entries] == [TITLE]
    assert [e.href for e in atom.entries[0].enclosures] == [enclosure.href]
    print(  # noqa: T201  (how long the clock part took, for the report)
        f"\nScheduled for {due:%H:%M:%S}, on the home page at {shown:%H:%M:%S}"
        f" ({(shown - due).total_seconds():.1f} s after), at {time.strftime('%H:%M:%S')} done"
    )
