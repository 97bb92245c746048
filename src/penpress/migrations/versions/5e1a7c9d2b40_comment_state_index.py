"""an index for the console's waiting and spam comment lists

Revision ID: 5e1a7c9d2b40
Revises: d4b8e2f61a93
Create Date: 2026-11-30 14:55:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "5e1a7c9d2b40"
down_revision = "d4b8e2f61a93"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_comments_approved_spam_created_at",
        "comments",
        ["approved", "spam", "created_at"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_comments_approved_spam_created_at", table_name="comments")
