"""a GIN index on the posts' title tsvector, for search's window of title matches

PostgreSQL only: ``ix_posts_title_vector`` on ``to_tsvector('english', title)`` lets a search
find the newest posts whose title holds its words without reading (and detoasting) the
``search_vector`` of every post that holds them (``penpress.blog.search.ranked_ids``). On
SQLite the FTS5 index answers title matches itself: nothing to do.

Revision ID: 9b2f6c1d8e47
Revises: 7b3f9e2a6c51
Create Date: 2026-11-30 15:40:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "9b2f6c1d8e47"
down_revision = "7b3f9e2a6c51"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_posts_title_vector ON posts"
            " USING gin (to_tsvector('english'::regconfig, title))"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_posts_title_vector")
