"""an index for the console's newest-first list of every post

Revision ID: 7b3f9e2a6c51
Revises: 5e1a7c9d2b40
Create Date: 2026-11-30 16:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "7b3f9e2a6c51"
down_revision = "5e1a7c9d2b40"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_posts_created_at_id", "posts", ["created_at", "id"], unique=False)


def downgrade():
    op.drop_index("ix_posts_created_at_id", table_name="posts")
