"""Fixtures for the site's pages: logging in through the form, and apps with other settings."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.factories import DEFAULT_PASSWORD

CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SESSION_COOKIE = "session"
REMEMBER_COOKIE = "remember_token"


def login(
    client: FlaskClient,
    email: str,
    password: str = DEFAULT_PASSWORD,
    *,
    remember: bool = False,
    next: str | None = None,  # noqa: A002  (the query parameter's name)
    csrf: bool = False,
) -> TestResponse:
    """Submit the login form; ``csrf=True`` first reads a token from the login page."""
    data: dict[str, str] = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    if csrf:
        data["csrf_token"] = csrf_token(client, "/auth/login")
    url = "/auth/login" if next is None else f"/auth/login?next={next}"
    return client.post(url, data=data)


def csrf_token(client: FlaskClient, page: str) -> str:
    """The CSRF token a page hands to this client's session."""
    match = CSRF_INPUT.search(client.get(page).get_data(as_text=True))
    assert match, f"no csrf_token on {page}"
    return match.group(1)


def multipart(fields: dict[str, str], files: dict[str, tuple[bytes, str]]) -> tuple[bytes, str]:
    """A multipart body built in memory, and its content type. (Given files, the test client
    spools a large body to a temporary file, which stays open when the app refuses the body
    without reading it.)"""
    boundary = "penpress-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    for name, (data, filename) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        parts.append(head.encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), (
        f"multipart/form-data; boundary={boundary}"
    )


def copy_cookie(source: FlaskClient, target: FlaskClient, name: str) -> None:
    """Give ``target`` the cookie ``name`` of ``source``, as a thief would."""
    cookie = source.get_cookie(name)
    assert cookie is not None, f"{name} cookie missing"
    target.set_cookie(name, cookie.value)


def is_logged_in(client: FlaskClient) -> bool:
    """Whether the profile page (login required) opens for this client."""
    return client.get("/auth/profile").status_code == 200


class MarkupAudit(HTMLParser):
    """Collects ids, label targets, form controls and inline code of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.label_targets: set[str] = set()
        self.controls: list[dict[str, str | None]] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.append(str(found["id"]))
        if tag == "label" and found.get("for"):
            self.label_targets.add(str(found["for"]))
        if tag in ("input", "select", "textarea") and found.get("type") not in ("hidden", "submit"):
            self.controls.append(found)
        if tag == "style" or (tag == "script" and not str(found.get("src", "")).startswith("/")):
            self.inline.append(tag)
        self.inline.extend(name for name in found if name == "style" or name.startswith("on"))


def audit_markup(html: str) -> MarkupAudit:
    """Check a page's ids are unique and its controls labelled (screen readers need both)."""
    audit = MarkupAudit()
    audit.feed(html)
    assert len(audit.ids) == len(set(audit.ids)), "duplicate id"
    for control in audit.controls:
        assert control.get("id") in audit.label_targets or control.get("aria-label"), control
    return audit


OLDER_LINK = re.compile(r'href="([^"]*cursor=[^"]+)" rel="next"')
NEWER_LINK = re.compile(r'href="([^"]*)" rel="prev"')


def older_link(html: str) -> str | None:
    """The "Older posts" link of a list page (a cursor link), if it has one."""
    found = OLDER_LINK.search(html)
    return found.group(1).replace("&amp;", "&") if found else None


def newer_link(html: str) -> str | None:
    """The "Newer posts" link of a list page, if it has one."""
    found = NEWER_LINK.search(html)
    return found.group(1).replace("&amp;", "&") if found else None
