"""transfer runs (console export/import) and legacy paths of imported pages

Revision ID: d4b8e2f61a93
Revises: d4e8b2c6f913
Create Date: 2026-11-30 13:00:00.000000

"""

from alembic import op
import sqlalchemy as sa

from penpress.database import UTCDateTime


# revision identifiers, used by Alembic.
revision = "d4b8e2f61a93"
down_revision = "d4e8b2c6f913"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "transfer_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("file_name", sa.String(length=100), nullable=True),
        sa.Column("original_name", sa.String(length=255), nullable=True),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('export', 'import')", name=op.f("ck_transfer_runs_kind")),
        sa.CheckConstraint(
            "state IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_transfer_runs_state")
        ),
        sa.ForeignKeyConstraint(
            ["started_by_id"],
            ["users.id"],
            name=op.f("fk_transfer_runs_started_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_runs")),
    )
    with op.batch_alter_table("transfer_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transfer_runs_state"), ["state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_transfer_runs_started_by_id"), ["started_by_id"], unique=False
        )

    with op.batch_alter_table("legacy_paths", schema=None) as batch_op:
        batch_op.add_column(sa.Column("page_id", sa.Integer(), nullable=True))
        batch_op.alter_column("post_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f("ix_legacy_paths_page_id"), ["page_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_legacy_paths_page_id_pages"),
            "pages",
            ["page_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_check_constraint(
            op.f("ck_legacy_paths_post_or_page"), "(post_id IS NULL) <> (page_id IS NULL)"
        )


def downgrade():
    op.execute("DELETE FROM legacy_paths WHERE post_id IS NULL")
    with op.batch_alter_table("legacy_paths", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_legacy_paths_post_or_page"), type_="check")
        batch_op.drop_constraint(op.f("fk_legacy_paths_page_id_pages"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_legacy_paths_page_id"))
        batch_op.alter_column("post_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("page_id")

    with op.batch_alter_table("transfer_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transfer_runs_started_by_id"))
        batch_op.drop_index(batch_op.f("ix_transfer_runs_state"))
    op.drop_table("transfer_runs")
