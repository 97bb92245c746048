"""media uploads, featured images and meta fields on posts

Revision ID: 124a005ff626
Revises: 7c3f2a91d0e4
Create Date: 2026-11-30 08:07:25.330666

"""
from alembic import op
import sqlalchemy as sa

import penpress.database


# revision identifiers, used by Alembic.
revision = '124a005ff626'
down_revision = '7c3f2a91d0e4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('media',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('byte_size', sa.Integer(), nullable=False),
    sa.Column('widths', sa.JSON(), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('created_at', penpress.database.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_media_owner_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media')),
    sa.UniqueConstraint('name', name=op.f('uq_media_name'))
    )
    op.create_index('ix_media_owner_id_created_at', 'media', ['owner_id', 'created_at'], unique=False)

    # On SQLite the foreign key makes this a rebuild of "posts" (copy, drop, rename); env.py
    # turns foreign keys off meanwhile, so dropping the old table cascades to nothing.
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('featured_image_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('featured_image_url', sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column('featured_image_alt', sa.String(length=300), server_default='', nullable=False))
        batch_op.add_column(sa.Column('meta_title', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('meta_description', sa.String(length=300), server_default='', nullable=False))
        batch_op.create_index(batch_op.f('ix_posts_featured_image_id'), ['featured_image_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_posts_featured_image_id_media'), 'media', ['featured_image_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_posts_featured_image_id_media'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_posts_featured_image_id'))
        batch_op.drop_column('meta_description')
        batch_op.drop_column('meta_title')
        batch_op.drop_column('featured_image_alt')
        batch_op.drop_column('featured_image_url')
        batch_op.drop_column('featured_image_id')

    op.drop_index('ix_media_owner_id_created_at', table_name='media')
    op.drop_table('media')
