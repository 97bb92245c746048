"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it accepts and can misbehave.

``refusing`` makes it answer ``451`` (try again later) to every recipient, as a full or
overloaded mail server does; ``refuse`` maps addresses to the answer their ``RCPT`` gets
(``550 No such user``, ``452 Mailbox full``); ``holding`` keeps every ``RCPT`` waiting for an
answer until it is cleared (``held`` counts those waiting), so a client can be stopped before
the server has a message; ``delay`` makes it take that long to accept each message; ``stop()``
and ``start()`` take it off the network and back on the same port. Used by
the outbox fault tests, the newsletter's tests and by ``make faults``.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.servers import free_port


@dataclass
class SmtpSink:
    """The aiosmtpd handler: every accepted message, parsed."""

    port: int = 0
    refusing: bool = False
    refuse: dict[str, str] = field(default_factory=dict)  # address -> its RCPT answer
    holding: bool = False
    held: int = 0  # RCPT commands waiting while ``holding``
    delay: float = 0.0
    messages: list[EmailMessage] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # time.monotonic() of each message
    refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    def start(self) -> None:
        """Listen on 127.0.0.1:``port`` (a free one the first time)."""
        self.port = self.port or free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        """Stop listening: connections are refused until ``start()``."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def handle_RCPT(  # noqa: N802  (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.holding:
            with self._lock:
                self.held += 1
            try:
                while self.holding:
                    await asyncio.sleep(0.05)
            finally:
                with self._lock:
                    self.held -= 1
        if self.refusing:
            with self._lock:
                self.refused += 1
            return "451 4.3.2 Mail server busy, try again later"
        if address in self.refuse:
            with self._lock:
                self.refused += 1
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.messages.append(parsed)
            self.arrivals.append(time.monotonic())
        return "250 Message accepted for delivery"

    def received(self) -> list[EmailMessage]:
        with self._lock:
            return list(self.messages)

    def received_with_arrivals(self) -> list[tuple[EmailMessage, float]]:
        """Every message with the ``time.monotonic()`` it arrived at."""
        with self._lock:
            return list(zip(self.messages, self.arrivals, strict=True))

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.received() if m["To"] == address]

    def wait_until(
        self, done: Callable[[list[EmailMessage]], bool], timeout: float, why: str = ""
    ) -> list[EmailMessage]:
        """Wait until ``done(messages)``; AssertionError with the mail so far after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not done(messages := self.received()):
            if time.monotonic() > deadline:
                got = Counter(str(m["To"]) for m in messages)
                raise AssertionError(f"{why or 'mail'} not delivered in {timeout:.0f}s; got {got}")
            time.sleep(0.1)
        return messages


def duplicates(messages: list[EmailMessage]) -> dict[str, int]:
    """Message-IDs that arrived more than once (each email has its own, kept across retries)."""
    counts = Counter(str(m["Message-ID"]) for m in messages)
    return {message_id: n for message_id, n in counts.items() if n > 1}


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    """A started sink on a free 127.0.0.1 port, stopped afterwards."""
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()
