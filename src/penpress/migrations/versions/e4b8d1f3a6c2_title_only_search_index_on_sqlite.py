"""SQLite: a full-text index of post titles alone, for the search's title window

``posts_fts`` answers "which posts have every word in the title" with a column filter, and
FTS5 reads the whole of each word's list over all four columns to apply it: 18 ms of a
two-word search at a million posts. ``posts_title_fts`` (external content, the same
tokenizer as ``posts_fts``, so a title matches here exactly when it matches there) holds only
the titles' words: 1.6 ms. Three triggers keep it in step with ``posts``; the index is built
from every existing post (about 6 s at a million posts).

PostgreSQL has its own title index (``ix_posts_title_vector``, migration 9b2f6c1d8e47):
nothing to do there.

Revision ID: e4b8d1f3a6c2
Revises: d2a7c4e9b1f6
Create Date: 2026-11-30 21:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "e4b8d1f3a6c2"
down_revision = "d2a7c4e9b1f6"
branch_labels = None
depends_on = None

SQLITE_UP = [
    """CREATE VIRTUAL TABLE posts_title_fts USING fts5(
        title,
        content='posts', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    )""",
    """CREATE TRIGGER posts_title_fts_after_insert AFTER INSERT ON posts BEGIN
        INSERT INTO posts_title_fts(rowid, title) VALUES (new.id, new.title);
    END""",
    """CREATE TRIGGER posts_title_fts_after_delete AFTER DELETE ON posts BEGIN
        INSERT INTO posts_title_fts(posts_title_fts, rowid, title)
        VALUES ('delete', old.id, old.title);
    END""",
    """CREATE TRIGGER posts_title_fts_after_update AFTER UPDATE OF title ON posts BEGIN
        INSERT INTO posts_title_fts(posts_title_fts, rowid, title)
        VALUES ('delete', old.id, old.title);
        INSERT INTO posts_title_fts(rowid, title) VALUES (new.id, new.title);
    END""",
    "INSERT INTO posts_title_fts(posts_title_fts) VALUES ('rebuild')",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS posts_title_fts_after_update",
    "DROP TRIGGER IF EXISTS posts_title_fts_after_delete",
    "DROP TRIGGER IF EXISTS posts_title_fts_after_insert",
    "DROP TABLE IF EXISTS posts_title_fts",
]


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
