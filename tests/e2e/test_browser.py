"""A person in a real browser: register, log in, publish a post, find it, log out.

Runs the site under a real server and headless Chromium, so it also proves that the pages work
under the Content-Security-Policy (no script or style is blocked) and that forms carry CSRF
tokens the server accepts.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import watch_problems

pytestmark = pytest.mark.slow


def test_register_publish_and_log_out_in_a_browser(live_server: str, browser_page: Any) -> None:
    page = browser_page
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )

    page.goto(f"{live_server}/auth/register")
    page.fill("input[name=username]", "browseruser")
    page.fill("input[name=email]", "browser@example.com")
    page.fill("input[name=password]", "browser-password")
    page.fill("input[name=password_confirm]", "browser-password")
    page.locator("form:has(input[name=password_confirm]) [type=submit]").click()
    page.wait_for_load_state()

    # Registration (open, as configured) logs the new account in at once, on the home page.
    assert page.url == f"{live_server}/"
    assert page.locator("form[action$='/auth/logout']").count() == 1

    # Out, and in again through the login form.
    page.locator("form[action$='/auth/logout'] [type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("form[action$='/auth/logout']").count() == 0
    page.goto(f"{live_server}/auth/login")
    page.fill("input[name=email]", "browser@example.com")
    page.fill("input[name=password]", "browser-password")
    page.locator("form:has(input[name=password]) [type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("form[action$='/auth/logout']").count() == 1

    page.goto(f"{live_server}/blog/create")
    page.fill("input[name=title]", "Written in Chromium")
    page.fill("[name=summary]", "A post from a real browser.")
    page.fill("textarea[name=body]", "Hello **world** from the browser.")
    page.fill("input[name=tags]", "browsers, testing")
    page.check("input[name=published]")
    page.locator("form:has(textarea[name=body]) button[type=submit]:not([name])").click()  # Save
    page.wait_for_load_state()
    assert "/blog/post/written-in-chromium" in page.url
    assert page.locator("strong", has_text="world").count() >= 1

    # Scheduled for later with the browser's own date and time picker value, in UTC (the
    # site's default time zone).
    page.goto(f"{live_server}/blog/create")
    page.fill("input[name=title]", "Scheduled in Chromium")
    page.fill("textarea[name=body]", "Not yet.")
    page.fill("input[name=publish_at]", "2999-01-02T09:30")
    page.get_by_role("button", name="Schedule").click()
    page.wait_for_load_state()
    assert "/blog/post/scheduled-in-chromium" in page.url
    assert page.get_by_text("Scheduled for Jan 2, 2999, 09:30 UTC").count() >= 1

    page.goto(f"{live_server}/")
    assert page.get_by_text("Written in Chromium").count() >= 1
    page.goto(f"{live_server}/blog/tag/browsers")
    assert page.get_by_text("Written in Chromium").count() >= 1

    # The header's search box (a plain GET form) finds it by a word of its body.
    page.get_by_role("searchbox", name="Search the site").first.fill("world")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/search?q=world" in page.url
    assert page.locator(".search-hit a", has_text="Written in Chromium").count() == 1
    assert page.locator(".search-hit mark", has_text="world").count() >= 1

    page.locator("form[action$='/auth/logout'] [type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("form[action$='/auth/logout']").count() == 0

    # Anonymous readers search too (their results come from the page cache).
    page.locator("#site-search-q").fill("chromium written")
    with page.expect_navigation():
        page.locator("form.site-search [type=submit]").click()
    assert page.locator(".search-hit a", has_text="Written in Chromium").count() == 1

    assert problems == [], f"browser console errors (CSP or JavaScript): {problems}"


def test_pages_render_on_a_phone_sized_screen(live_server: str, browser_page: Any) -> None:
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/", "/search?q=the"):
        page.goto(f"{live_server}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        assert not overflow, f"{path} scrolls sideways on a phone"


def test_the_api_docs_render_every_operation_under_the_csp(
    live_server: str, browser_page: Any
) -> None:
    page = browser_page
    problems: list[str] = []
    assets: list[str] = []
    watch_problems(page, problems, error_statuses=True)
    page.on("response", lambda response: assets.append(response.url))

    page.goto(f"{live_server}/api/v1/docs")
    # Swagger UI builds the page from the OpenAPI document in JavaScript: seeing operations
    # means its scripts ran, and the document loaded and parsed.
    token_login = page.locator(
        ".opblock-post .opblock-summary-path[data-path='/api/v1/auth/tokens']"
    )
    token_login.wait_for(timeout=15_000)
    assert page.locator(".opblock-get .opblock-summary-path[data-path='/api/v1/posts']").count()
    assert page.locator(".opblock").count() >= 20
    page.wait_for_load_state("networkidle")

    assert any(url.endswith("/swagger-ui-bundle.js") for url in assets)
    assert any("/api/v1/openapi.json" in url for url in assets), assets
    assert all(url.startswith(live_server) for url in assets), "an asset from another site"
    assert problems == [], f"browser errors (CSP, JavaScript or a failed asset): {problems}"
