"""An SMTP sink for the compose stack test: one JSON line on stdout per delivered message."""

from __future__ import annotations

import asyncio
import base64
import json
import signal
from typing import Any

from aiosmtpd.controller import Controller

PORT = 1025


class Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": base64.b64encode(envelope.original_content or envelope.content).decode(),
        }
        print(json.dumps(record), flush=True)
        return "250 Message accepted for delivery"


async def main() -> None:
    controller = Controller(Sink(), hostname="0.0.0.0", port=PORT)  # noqa: S104 (container)
    controller.start()
    print(f"mailsink listening on port {PORT}", flush=True)
    stop = asyncio.Event()
    # As PID 1 of its container it gets no default signal handling: stop on `docker stop`.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    controller.stop()


if __name__ == "__main__":
    asyncio.run(main())
