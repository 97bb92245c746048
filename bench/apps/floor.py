"""The floor of a database page: bare Flask + SQLAlchemy, 20 rows of ``posts`` as JSON.

One indexed query and no templates, sessions or extensions: what any page that reads the
database costs at least, on the same database (``DATABASE_URL``) and gunicorn settings.
"""

from __future__ import annotations

import os

from flask import Flask
from sqlalchemy import create_engine, text

engine = create_engine(os.environ["DATABASE_URL"])
ROWS = text(
    "SELECT id, title, slug, summary, published_at, author_id FROM posts ORDER BY id DESC LIMIT 20"
)

app = Flask(__name__)


@app.get("/")
def index() -> dict[str, object]:
    with engine.connect() as connection:
        posts = [
            {**row._asdict(), "published_at": str(row.published_at)}
            for row in connection.execute(ROWS)
        ]
    return {"posts": posts}
