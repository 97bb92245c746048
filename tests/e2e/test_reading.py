"""Reading in a real browser: axe-core finds no serious or critical accessibility problem on
the main pages in the light and the dark colour scheme, primary buttons keep their contrast,
and the console's users table fits a 390 px phone.

axe-core is the copy inside the ``axe-playwright-python`` package (its ``axe.min.js``),
evaluated in the page through Playwright, so nothing is fetched from a network.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

pytestmark = pytest.mark.slow

SCHEMES = ("light", "dark")
BLOCKING = ("serious", "critical")  # axe's impacts that fail the test


def log_in(page: Any, base: str, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
    page.goto(f"{base}/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.locator("form:has(input[name=password]) [type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("form[action$='/auth/logout']").count() == 1, "the login failed"


def first_link(page: Any, prefix: str) -> str:
    href = page.locator(f"main a[href^='{prefix}']").first.get_attribute("href")
    assert href, f"no link starting with {prefix}"
    return str(href)


def public_pages(page: Any, base: str) -> list[str]:
    page.goto(f"{base}/")
    post = first_link(page, "/blog/post/")
    tag = first_link(page, "/blog/tag/")
    page.goto(f"{base}{post}")
    author = first_link(page, "/blog/author/")
    return ["/", "/blog/", post, tag, author, "/about", "/auth/login", "/auth/register"]


def blocking_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}"
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_main_pages_pass_axe_in_both_colour_schemes(
    live_server: str, browser_page: Any, scheme: str
) -> None:
    page = browser_page
    page.emulate_media(color_scheme=scheme)
    found: dict[str, list[str]] = {}
    for path in public_pages(page, live_server):
        page.goto(f"{live_server}{path}")
        if problems := blocking_violations(page):
            found[path] = problems
    log_in(page, live_server)
    for path in ("/blog/favorites", "/auth/profile", "/blog/create", "/admin/users"):
        page.goto(f"{live_server}{path}")
        assert page.url.endswith(path), f"{path} redirected to {page.url}"
        if problems := blocking_violations(page):
            found[path] = problems
    assert found == {}, f"axe ({scheme}): {found}"


def contrast(page: Any, selector: str) -> float:
    """The WCAG contrast ratio of the element's text colour on its background colour."""
    ratio: float = page.evaluate(
        """(selector) => {
          const style = getComputedStyle(document.querySelector(selector));
          const rgb = (value) => value.match(/[\\d.]+/g).slice(0, 3).map(Number);
          const luminance = ([r, g, b]) => {
            const [R, G, B] = [r, g, b].map((c) => {
              c /= 255;
              return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
            });
            return 0.2126 * R + 0.7152 * G + 0.0722 * B;
          };
          const a = luminance(rgb(style.color));
          const b = luminance(rgb(style.backgroundColor));
          return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        }""",
        selector,
    )
    return ratio


@pytest.mark.parametrize("scheme", SCHEMES)
def test_primary_buttons_keep_their_contrast(
    live_server: str, browser_page: Any, scheme: str
) -> None:
    page = browser_page
    page.emulate_media(color_scheme=scheme)
    page.goto(f"{live_server}/auth/login")
    assert contrast(page, ".button-primary") >= 4.5


def test_the_users_table_fits_a_phone(live_server: str, browser_page: Any) -> None:
    page = browser_page
    log_in(page, live_server)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/admin/users")
    sideways = page.evaluate(
        """() => ({
          page: document.documentElement.scrollWidth - window.innerWidth,
          tables: [...document.querySelectorAll('.table-wrap')].map(
            (wrap) => wrap.scrollWidth - wrap.clientWidth),
        })"""
    )
    assert sideways["page"] <= 1, "the users page scrolls sideways on a phone"
    assert all(extra <= 1 for extra in sideways["tables"]), "the users table scrolls sideways"
    # Every control is on screen and can be used: the first other account's role is changed.
    change = page.locator("form[action*='/role'] button").first
    box = change.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 390
    form = page.locator("form[action*='/role']").first
    form.locator("select").select_option("author")
    change.click()
    page.wait_for_load_state()
    assert page.locator(".flash").count() >= 1
