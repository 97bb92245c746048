"""The owner's console in a real browser: the dashboard's server-drawn charts render under the
Content-Security-Policy, in both colour schemes and on a phone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

pytestmark = pytest.mark.slow


def watch(page: Any) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    return problems


def log_in_as_admin(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}/auth/login")
    page.fill("input[name=email]", ADMIN_EMAIL)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.locator("form:has(input[name=password]) [type=submit]").click()
    page.wait_for_load_state()


def bar_fill(page: Any, chart: str) -> str:
    return str(
        page.evaluate(f"getComputedStyle(document.querySelector('#{chart} rect.chart-bar')).fill")
    )


def test_the_dashboard_draws_its_charts(live_server: str, browser_page: Any) -> None:
    page = browser_page
    problems = watch(page)
    log_in_as_admin(page, live_server)
    # Today's comment, so the comments chart has a bar whatever dates the seed chose.
    page.goto(f"{live_server}/blog/")
    page.locator("a[href*='/blog/post/']").first.click()
    page.wait_for_load_state()
    page.fill("textarea[name=body]", "Seen from the console test.")
    page.locator("form:has(textarea[name=body]) [type=submit]").click()
    page.wait_for_load_state()
    page.goto(f"{live_server}/admin/")
    assert page.locator("h1", has_text="Dashboard").count() == 1
    for chart in ("posts-per-month", "comments-per-day"):
        svg = page.locator(f"#{chart} svg")
        assert svg.count() == 1, chart
        box = svg.bounding_box()
        assert box is not None
        assert box["width"] > 200
        assert box["height"] > 50
        assert page.locator(f"#{chart} rect.chart-bar").count() >= 12
    light = bar_fill(page, "posts-per-month")
    assert light not in ("", "none", "rgb(0, 0, 0)")  # the CSS classes reached the SVG

    page.emulate_media(color_scheme="dark")
    dark = bar_fill(page, "posts-per-month")
    assert dark != light  # the dark scheme's accent

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
    assert not overflow, "the dashboard scrolls sideways on a phone"
    box = page.locator("#posts-per-month svg").bounding_box()
    assert box is not None
    assert box["width"] <= 390
    assert problems == [], f"browser console errors (CSP or JavaScript): {problems}"


def test_a_bulk_action_in_the_browser(live_server: str, browser_page: Any) -> None:
    """Tick two published posts, unpublish them (confirming the question), see them listed
    as drafts."""
    page = browser_page
    problems = watch(page)
    questions: list[str] = []

    def answer(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    log_in_as_admin(page, live_server)
    page.goto(f"{live_server}/admin/posts?status=published")
    rows = page.locator("tr.post-row")
    assert rows.count() >= 2
    chosen = [rows.nth(n).get_attribute("data-post") for n in range(2)]
    for post_id in chosen:
        page.check(f"#post-{post_id}")
    page.locator("button[name=action][value=unpublish]").click()
    page.wait_for_load_state()
    assert questions == ["Apply this to every ticked post?"]
    assert page.get_by_text("2 posts: unpublished.").count() == 1
    page.goto(f"{live_server}/admin/posts?status=draft")
    drafts = {
        page.locator("tr.post-row").nth(n).get_attribute("data-post")
        for n in range(page.locator("tr.post-row").count())
    }
    assert set(chosen) <= drafts
    page.goto(f"{live_server}/admin/audit?action=post.unpublish")
    assert page.locator("tr.audit-entry").count() == 2
    assert problems == [], f"browser console errors (CSP or JavaScript): {problems}"
