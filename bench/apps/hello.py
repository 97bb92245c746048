"""The ceiling: the cheapest Flask answer there is, a small JSON dict.

No Penpress page can be faster under the same gunicorn settings, so every endpoint is also
reported as a fraction of this one.
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index() -> dict[str, object]:
    return {"status": "ok", "message": "hello, world", "items": [1, 2, 3]}
