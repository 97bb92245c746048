"""The editor in headless Chromium: write, preview in the tab, upload images by the button and
by pasting, see autosave's status, reload and get the text back, and be asked before leaving
with unsaved changes. Screenshots of the editor at desktop and phone widths are saved to
``test-artifacts/e2e/`` (or ``$PENPRESS_ARTIFACTS``); the test prints the folder.

Everything runs under the site's Content-Security-Policy: any blocked script or style, or any
JavaScript error, fails the test.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from tests import images
from tests.e2e.conftest import watch_problems

pytestmark = pytest.mark.slow

PASSWORD = "editor-password"


@pytest.fixture
def problems(browser_page: Any) -> list[str]:
    """Console errors, page errors and failed requests; empty at the end or the test fails."""
    found: list[str] = []
    watch_problems(browser_page, found)
    return found


def register(page: Any, server: str, name: str) -> None:
    page.goto(f"{server}/auth/register")
    page.fill("input[name=username]", name)
    page.fill("input[name=email]", f"{name}@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password_confirm]", PASSWORD)
    page.locator("form:has(input[name=password_confirm]) [type=submit]").click()
    page.wait_for_load_state()
    if page.locator("form[action$='/auth/logout']").count() == 0:
        page.goto(f"{server}/auth/login")
        page.fill("input[name=email]", f"{name}@example.com")
        page.fill("input[name=password]", PASSWORD)
        page.locator("form:has(input[name=password]) [type=submit]").click()
        page.wait_for_load_state()
    assert page.locator("form[action$='/auth/logout']").count() == 1


def type_into(page: Any, selector: str, text: str) -> None:
    """Real key presses (they count as the user's gesture, which beforeunload needs)."""
    page.click(selector)
    page.keyboard.press("End")
    page.keyboard.type(text)


def status(page: Any) -> Any:
    return page.locator("[data-editor-status]")


PASTE = """([selector, data]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], "image.png", { type: "image/png" }));
  const target = document.querySelector(selector);
  target.focus();
  target.dispatchEvent(new ClipboardEvent("paste", {
    clipboardData: transfer, bubbles: true, cancelable: true
  }));
}"""


def test_writing_previewing_uploading_and_never_losing_text(
    live_server: str, browser_page: Any, problems: list[str], artifacts: Path
) -> None:
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    register(page, live_server, "editoruser")
    dialogs: list[str] = []

    def answer(dialog: Any) -> None:
        dialogs.append(dialog.type)
        dialog.accept()

    page.on("dialog", answer)

    # --- write, and the browser keeps it ---------------------------------------------------------
    page.goto(f"{live_server}/blog/create")
    type_into(page, "input[name=title]", "Written with the editor")
    type_into(page, "textarea[name=body]", "Hello **bold preview** world.\n\n")
    status(page).filter(has_text="kept in this browser").wait_for()
    assert status(page).get_attribute("aria-live") == "polite"

    # --- the Preview tab shows what readers will see ---------------------------------------------
    page.click("#tab-preview")
    page.locator("#panel-preview .post-body strong", has_text="bold preview").wait_for()
    assert page.locator("#panel-preview .post-preview-title").inner_text() == (
        "Written with the editor"
    )
    assert page.locator("#panel-write").is_hidden()
    page.click("#tab-write")
    assert page.locator("textarea[name=body]").is_visible()

    # --- an image by the button, another by pasting ----------------------------------------------
    with page.expect_file_chooser() as chooser:
        page.click("[data-insert-image]")
    chooser.value.set_files(
        {"name": "Sunset over hills.jpg", "mimeType": "image/jpeg",
         "buffer": images.photo_with_gps(size=(1800, 1200), orientation=1)}
    )  # fmt: skip
    body = page.locator("textarea[name=body]")
    page.wait_for_function(
        "() => /!\\[Sunset over hills\\]\\(http[^)]*\\/media\\/[0-9a-f]{32}\\.jpg\\)/"
        ".test(document.querySelector('textarea[name=body]').value)"
    )
    page.click("textarea[name=body]")
    page.keyboard.press("Control+End")
    page.evaluate(PASTE, ["textarea[name=body]", base64.b64encode(images.png((900, 600))).decode()])
    page.wait_for_function(
        "() => (document.querySelector('textarea[name=body]').value.match(/\\/media\\//g) || [])"
        ".length === 2"
    )
    assert "Uploading" not in body.input_value()
    page.screenshot(path=str(artifacts / "editor-desktop.png"), full_page=True)

    # --- leaving asks first; coming back brings the text back ------------------------------------
    typed = body.input_value()
    page.reload()
    page.wait_for_load_state()
    assert "beforeunload" in dialogs
    page.locator("[data-editor-notice]", has_text="Restored the unsaved text").wait_for()
    assert page.locator("input[name=title]").input_value() == "Written with the editor"
    assert body.input_value() == typed

    # --- saving makes a draft on the server ------------------------------------------------------
    page.locator("form[data-editor-form] button[type=submit]:not([name])").click()
    page.wait_for_url("**/blog/post/written-with-the-editor")
    pictures = page.locator(".post-body img[srcset]")
    assert pictures.count() == 2
    page.wait_for_function(
        "() => [...document.querySelectorAll('.post-body img')].every("
        "(img) => img.complete && img.naturalWidth > 0)"
    )
    assert "480w" in (pictures.first.get_attribute("srcset") or "")

    # --- editing the draft saves by itself -------------------------------------------------------
    page.click("a.button:text('Edit')")
    page.wait_for_load_state()
    assert page.locator("[data-editor-notice]").is_hidden()  # the saved copy was forgotten
    assert page.evaluate("Object.keys(localStorage).filter((k) => k.includes(':new'))") == []
    type_into(page, "textarea[name=body]", "\nAdded later, saved by itself.")
    status(page).filter(has_text="Saved at").wait_for()
    edit_url = page.url
    dialogs.clear()
    page.reload()
    page.wait_for_load_state()
    assert dialogs == []  # nothing unsaved: no question
    assert "Added later, saved by itself." in body.input_value()

    # --- offline: said so, and saved once the connection is back ---------------------------------
    page.context.set_offline(True)
    type_into(page, "textarea[name=body]", "\nWritten on a train.")
    status(page).filter(has_text="Offline — not saved").wait_for(timeout=15_000)
    page.context.set_offline(False)
    status(page).filter(has_text="Saved at").wait_for(timeout=20_000)
    page.goto(edit_url)
    assert "Written on a train." in body.input_value()

    # --- the phone-sized editor ------------------------------------------------------------------
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(edit_url)
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
    page.screenshot(path=str(artifacts / "editor-phone.png"), full_page=True)
    assert (artifacts / "editor-desktop.png").stat().st_size > 0

    offline_noise = [p for p in problems if "ERR_INTERNET_DISCONNECTED" in p]
    assert [p for p in problems if p not in offline_noise] == [], problems


def test_the_featured_image_uploads_from_the_editor(
    live_server: str, browser_page: Any, problems: list[str]
) -> None:
    page = browser_page
    register(page, live_server, "featureduser")
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server}/blog/create")
    type_into(page, "input[name=title]", "A pictured post")
    type_into(page, "textarea[name=body]", "Words.")
    page.set_input_files(
        "[data-featured-upload]",
        {"name": "cover.png", "mimeType": "image/png", "buffer": images.png((1600, 900))},
    )
    page.wait_for_function(
        "() => /^[0-9]+$/.test(document.querySelector('input[name=featured_image]:checked').value)"
    )
    assert page.locator("[data-featured-upload]").input_value() == ""  # not sent again
    assert page.locator("input[name=featured_image_alt]").input_value() == "cover"
    page.fill("input[name=featured_image_alt]", "A cover picture")
    page.check("input[name=published]")
    page.locator("form[data-editor-form] button[type=submit]:not([name])").click()
    page.wait_for_url("**/blog/post/a-pictured-post")
    figure = page.locator(".post-featured img")
    assert figure.get_attribute("alt") == "A cover picture"
    assert (figure.get_attribute("width"), figure.get_attribute("height")) == ("1600", "900")
    og = page.locator("meta[property='og:image']").get_attribute("content") or ""
    assert og.startswith(live_server + "/media/")
    page.goto(f"{live_server}/blog/")
    assert page.locator(".post-card-image img[alt='A cover picture']").count() == 1
    assert problems == [], problems


def test_a_second_tab_is_told_instead_of_overwriting(
    live_server: str, browser_page: Any, problems: list[str]
) -> None:
    first = browser_page
    register(first, live_server, "twotabsuser")
    first.goto(f"{live_server}/blog/create")
    type_into(first, "input[name=title]", "Open twice")
    type_into(first, "textarea[name=body]", "The start.")
    first.locator("form[data-editor-form] button[type=submit]:not([name])").click()
    first.wait_for_url("**/blog/post/open-twice")
    first.click("a.button:text('Edit')")
    first.wait_for_load_state()
    # Another window with the same login (its own browser storage: another device, say).
    elsewhere = first.context.browser.new_context()
    elsewhere.add_cookies(first.context.cookies())
    second = elsewhere.new_page()
    second.on("dialog", lambda dialog: dialog.accept())
    second.on("pageerror", lambda error: problems.append(str(error)))
    second.goto(first.url)

    type_into(first, "textarea[name=body]", " Written in the first tab.")
    status(first).filter(has_text="Saved at").wait_for()
    type_into(second, "textarea[name=body]", " Written in the second tab.")
    status(second).filter(has_text="changed in another tab or window").wait_for()
    assert "kept in this browser" in status(second).inner_text()

    second.reload()  # the other tab's text is what the server has; this tab's is offered back
    second.wait_for_load_state()
    assert "Written in the first tab." in second.locator("textarea[name=body]").input_value()
    notice = second.locator("[data-editor-notice]")
    notice.filter(has_text="differs from what is shown").wait_for()
    notice.get_by_role("button", name="Restore it").click()
    assert "Written in the second tab." in second.locator("textarea[name=body]").input_value()
    assert problems == [], problems


def test_without_javascript_the_preview_button_shows_the_post_under_the_form(
    live_server: str, browser_page: Any
) -> None:
    register(browser_page, live_server, "nojsuser")
    plain = browser_page.context.browser.new_context(java_script_enabled=False)
    plain.add_cookies(browser_page.context.cookies())
    page = plain.new_page()
    page.goto(f"{live_server}/blog/create")
    assert page.locator("[data-editor-tabs]").is_hidden()  # no tabs without the script
    page.fill("input[name=title]", "Seen before saving")
    page.fill("textarea[name=body]", "Some *emphasis* and a [link](https://example.com).")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_load_state()
    preview = page.locator("#preview")
    assert preview.locator(".post-preview-title").inner_text() == "Seen before saving"
    assert preview.locator(".post-body em").inner_text() == "emphasis"
    assert page.locator("input[name=title]").input_value() == "Seen before saving"
    assert "*emphasis*" in page.locator("textarea[name=body]").input_value()
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/blog/post/seen-before-saving")
    plain.close()
