"""legacy paths of imported posts (WordPress redirects)

Revision ID: a7d3c1e9b254
Revises: c3cf44ead9b9
Create Date: 2026-11-30 09:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7d3c1e9b254'
down_revision = 'c3cf44ead9b9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'legacy_paths',
        sa.Column('path', sa.String(length=500), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['post_id'], ['posts.id'], name=op.f('fk_legacy_paths_post_id_posts'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('path', name=op.f('pk_legacy_paths')),
    )
    with op.batch_alter_table('legacy_paths', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legacy_paths_post_id'), ['post_id'], unique=False)


def downgrade():
    with op.batch_alter_table('legacy_paths', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legacy_paths_post_id'))
    op.drop_table('legacy_paths')
