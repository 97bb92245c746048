"""comment spam state: spam comments are kept for the console, hidden from readers

Revision ID: d4e8b2c6f913
Revises: a7d3c1e9b254
Create Date: 2026-11-30 12:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4e8b2c6f913'
down_revision = 'a7d3c1e9b254'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('spam', sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('spam')
