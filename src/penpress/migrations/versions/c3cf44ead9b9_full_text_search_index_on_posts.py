"""full-text search index on posts: FTS5 on SQLite, a tsvector column + GIN index on PostgreSQL

Adds posts.search_tags (the post's tag names, space-separated, kept by the services) and
fills it, then the index over title, summary, body and search_tags, backfilled from every
existing post:

- SQLite: the external-content FTS5 table ``posts_fts`` (content = ``posts``, porter stemming,
  accents folded) and three triggers on ``posts`` that keep it in step with every write, even
  raw SQL (the bulk seeder, a restore).
- PostgreSQL: ``posts.search_vector``, a stored generated ``tsvector`` (English stemming;
  weights: title A, summary and tags B, body C) and its GIN index ``ix_posts_search_vector``.

Revision ID: c3cf44ead9b9
Revises: 4b9e2d7c1a05
Create Date: 2026-11-30 09:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3cf44ead9b9'
down_revision = '4b9e2d7c1a05'
branch_labels = None
depends_on = None

FTS_COLUMNS = "title, summary, body, search_tags"
NEW = "new.title, new.summary, new.body, new.search_tags"
OLD = "old.title, old.summary, old.body, old.search_tags"

SQLITE_UP = [
    f"""CREATE VIRTUAL TABLE posts_fts USING fts5(
        {FTS_COLUMNS},
        content='posts', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    )""",
    f"""CREATE TRIGGER posts_fts_after_insert AFTER INSERT ON posts BEGIN
        INSERT INTO posts_fts(rowid, {FTS_COLUMNS}) VALUES (new.id, {NEW});
    END""",
    f"""CREATE TRIGGER posts_fts_after_delete AFTER DELETE ON posts BEGIN
        INSERT INTO posts_fts(posts_fts, rowid, {FTS_COLUMNS}) VALUES ('delete', old.id, {OLD});
    END""",
    # Only when an indexed column changes: view counts and counters write posts all the time.
    f"""CREATE TRIGGER posts_fts_after_update AFTER UPDATE OF {FTS_COLUMNS} ON posts BEGIN
        INSERT INTO posts_fts(posts_fts, rowid, {FTS_COLUMNS}) VALUES ('delete', old.id, {OLD});
        INSERT INTO posts_fts(rowid, {FTS_COLUMNS}) VALUES (new.id, {NEW});
    END""",
    "INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS posts_fts_after_update",
    "DROP TRIGGER IF EXISTS posts_fts_after_delete",
    "DROP TRIGGER IF EXISTS posts_fts_after_insert",
    "DROP TABLE IF EXISTS posts_fts",
]

POSTGRES_VECTOR = """
    setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
    || setweight(to_tsvector('english'::regconfig, coalesce(summary, '')), 'B')
    || setweight(to_tsvector('english'::regconfig, coalesce(search_tags, '')), 'B')
    || setweight(to_tsvector('english'::regconfig, coalesce(body, '')), 'C')
"""


def upgrade():
    dialect = op.get_bind().dialect.name
    op.add_column(
        'posts', sa.Column('search_tags', sa.Text(), server_default='', nullable=False)
    )
    names = (
        "string_agg(tags.name, ' ' ORDER BY lower(tags.name))"
        if dialect == "postgresql"
        else "group_concat(tags.name, ' ')"
    )
    op.execute(
        f"""UPDATE posts SET search_tags = coalesce((
            SELECT {names} FROM post_tags JOIN tags ON tags.id = post_tags.tag_id
            WHERE post_tags.post_id = posts.id), '')"""
    )
    if dialect == "postgresql":
        # Stored and generated: PostgreSQL computes it on every INSERT/UPDATE (backfilling
        # every existing row here), so it cannot drift from the row.
        op.execute(
            f"ALTER TABLE posts ADD COLUMN search_vector tsvector "
            f"GENERATED ALWAYS AS ({POSTGRES_VECTOR}) STORED"
        )
        op.execute("CREATE INDEX ix_posts_search_vector ON posts USING gin (search_vector)")
    else:
        for statement in SQLITE_UP:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_posts_search_vector")
        op.execute("ALTER TABLE posts DROP COLUMN IF EXISTS search_vector")
    else:
        for statement in SQLITE_DOWN:
            op.execute(statement)
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_column('search_tags')
