"""site identity settings: longer setting values, and the comments mode replaces the
comment-approval switch

Revision ID: 4b9e2d7c1a05
Revises: 9e643884e575
Create Date: 2026-11-30 09:30:00

Setting values become text (the footer and the navigation links are longer than 500
characters). A saved ``comments_require_approval`` becomes ``comments_mode``: "1" is
``approval``, "0" is ``on``; downgrading turns ``approval`` back into "1" and any other mode
into "0" (``off`` and ``registered`` have no older equivalent).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4b9e2d7c1a05'
down_revision = '9e643884e575'
branch_labels = None
depends_on = None

settings = sa.table("site_settings", sa.column("key", sa.String), sa.column("value", sa.Text))


def upgrade():
    with op.batch_alter_table('site_settings', schema=None) as batch_op:
        batch_op.alter_column(
            'value', existing_type=sa.String(length=500), type_=sa.Text(), existing_nullable=False
        )
    connection = op.get_bind()
    old = connection.execute(
        sa.select(settings.c.value).where(settings.c.key == "comments_require_approval")
    ).scalar()
    if old is not None:
        connection.execute(
            settings.insert().values(key="comments_mode", value="approval" if old == "1" else "on")
        )
        connection.execute(settings.delete().where(settings.c.key == "comments_require_approval"))


def downgrade():
    connection = op.get_bind()
    mode = connection.execute(
        sa.select(settings.c.value).where(settings.c.key == "comments_mode")
    ).scalar()
    if mode is not None:
        connection.execute(
            settings.insert().values(
                key="comments_require_approval", value="1" if mode == "approval" else "0"
            )
        )
        connection.execute(settings.delete().where(settings.c.key == "comments_mode"))
    # Values too long for the older column are cut, as it would have refused them.
    connection.execute(
        settings.update().values(value=sa.func.substr(settings.c.value, 1, 500))
    )
    with op.batch_alter_table('site_settings', schema=None) as batch_op:
        batch_op.alter_column(
            'value', existing_type=sa.Text(), type_=sa.String(length=500), existing_nullable=False
        )
