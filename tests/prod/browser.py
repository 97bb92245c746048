"""A cookie-keeping HTTP client for the tests that drive real servers over 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import re
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


@dataclass
class Browser:
    """A cookie-keeping client that, unlike most, sends Secure cookies over plain HTTP
    (the servers run the production config, whose cookies are Secure behind TLS; browsers
    send them to http://localhost too).

    ``address``, if given, goes out as X-Forwarded-For (for servers that trust one proxy), so
    every test gets rate limits of its own whatever order the tests run in.
    """

    address: str | None = None
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        port: int,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        json_body: object = None,
        body: bytes | None = None,
    ) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        sent = {"X-Forwarded-For": self.address} if self.address else {}
        sent.update(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            body = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            reply = Reply(response.status, response.headers, response.read())
        finally:
            connection.close()
        for header in reply.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return reply

    def get(self, port: int, path: str, **kwargs: Any) -> Reply:
        return self.request(port, "GET", path, **kwargs)

    def post(self, port: int, path: str, form: dict[str, str]) -> Reply:
        return self.request(port, "POST", path, form=form)

    def csrf_token(self, port: int, path: str) -> str:
        """The CSRF token of the form on ``path`` (it belongs to this browser's session)."""
        page = self.get(port, path)
        assert page.status == 200, page.body
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found, page.text
        return found.group(1)
