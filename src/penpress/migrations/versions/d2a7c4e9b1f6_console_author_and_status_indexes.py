"""indexes for the console's posts of one author and of one status, newest first

Revision ID: d2a7c4e9b1f6
Revises: 9b2f6c1d8e47
Create Date: 2026-11-30 19:10:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "d2a7c4e9b1f6"
down_revision = "9b2f6c1d8e47"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_posts_author_id_created_at_id", "posts", ["author_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_posts_status_created_at_id", "posts", ["status", "created_at", "id"], unique=False
    )


def downgrade():
    op.drop_index("ix_posts_status_created_at_id", table_name="posts")
    op.drop_index("ix_posts_author_id_created_at_id", table_name="posts")
