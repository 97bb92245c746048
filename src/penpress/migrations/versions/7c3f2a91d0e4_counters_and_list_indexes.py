"""counter columns, named counters, list indexes that serve the sort, post_tags copies

Also the comments' index gains the id, so a page of a post's comments is a keyset range read.

Lists sort published posts by (published_at, id), newest first, and read only the rows they
show: published_at is set for every published post (backfilled here), indexes serve that
order for all posts, one author's and one tag's (post_tags gets copies of the post's
published and published_at), and the counts lists show are columns kept by the services
(filled here from the rows they count).

Revision ID: 7c3f2a91d0e4
Revises: 7f0581b58f01
Create Date: 2026-12-02 07:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import penpress.database


# revision identifiers, used by Alembic.
revision = '7c3f2a91d0e4'
down_revision = '8e06883c3e5e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('counters',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_counters'))
    )
    op.add_column('posts', sa.Column('comment_count', sa.Integer(), server_default='0', nullable=False))
    op.add_column('posts', sa.Column('favorites_count', sa.Integer(), server_default='0', nullable=False))
    op.add_column('tags', sa.Column('post_count', sa.Integer(), server_default='0', nullable=False))
    op.add_column('users', sa.Column('post_count', sa.Integer(), server_default='0', nullable=False))
    op.add_column('users', sa.Column('followers_count', sa.Integer(), server_default='0', nullable=False))
    op.add_column('users', sa.Column('following_count', sa.Integer(), server_default='0', nullable=False))
    op.add_column('post_tags', sa.Column('published', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('post_tags', sa.Column('published_at', penpress.database.UTCDateTime(timezone=True), nullable=True))

    # Every published post has a publication date (older rows may lack one).
    op.execute("UPDATE posts SET published_at = created_at WHERE published AND published_at IS NULL")
    op.execute(
        "UPDATE posts SET comment_count = (SELECT count(*) FROM comments"
        " WHERE comments.post_id = posts.id AND comments.approved)"
    )
    op.execute(
        "UPDATE posts SET favorites_count = (SELECT count(*) FROM favorites"
        " WHERE favorites.post_id = posts.id)"
    )
    op.execute(
        "UPDATE post_tags SET published = (SELECT posts.published FROM posts"
        " WHERE posts.id = post_tags.post_id), published_at = (SELECT posts.published_at"
        " FROM posts WHERE posts.id = post_tags.post_id)"
    )
    op.execute(
        "UPDATE tags SET post_count = (SELECT count(*) FROM post_tags"
        " WHERE post_tags.tag_id = tags.id AND post_tags.published)"
    )
    op.execute(
        "UPDATE users SET post_count = (SELECT count(*) FROM posts"
        " WHERE posts.author_id = users.id AND posts.published)"
    )
    op.execute(
        "UPDATE users SET followers_count = (SELECT count(*) FROM follows"
        " WHERE follows.followed_id = users.id), following_count = (SELECT count(*)"
        " FROM follows WHERE follows.follower_id = users.id)"
    )
    op.execute(
        "INSERT INTO counters (name, value) SELECT 'posts.published', count(*) FROM posts"
        " WHERE published"
    )

    op.drop_index('ix_posts_published_published_at', table_name='posts')
    op.drop_index('ix_posts_author_id_created_at', table_name='posts')
    op.drop_index('ix_post_tags_tag_id', table_name='post_tags')
    op.drop_index('ix_comments_post_id_approved_created_at', table_name='comments')
    op.create_index('ix_comments_post_id_approved_created_at_id', 'comments', ['post_id', 'approved', 'created_at', 'id'], unique=False)
    op.create_index('ix_posts_published_published_at_id', 'posts', ['published', 'published_at', 'id'], unique=False)
    op.create_index('ix_posts_author_id_published_published_at_id', 'posts', ['author_id', 'published', 'published_at', 'id'], unique=False)
    op.create_index('ix_post_tags_tag_id_published_published_at_post_id', 'post_tags', ['tag_id', 'published', 'published_at', 'post_id'], unique=False)


def downgrade():
    op.drop_index('ix_comments_post_id_approved_created_at_id', table_name='comments')
    op.create_index('ix_comments_post_id_approved_created_at', 'comments', ['post_id', 'approved', 'created_at'], unique=False)
    op.drop_index('ix_post_tags_tag_id_published_published_at_post_id', table_name='post_tags')
    op.drop_index('ix_posts_author_id_published_published_at_id', table_name='posts')
    op.drop_index('ix_posts_published_published_at_id', table_name='posts')
    op.create_index('ix_post_tags_tag_id', 'post_tags', ['tag_id'], unique=False)
    op.create_index('ix_posts_author_id_created_at', 'posts', ['author_id', 'created_at'], unique=False)
    op.create_index('ix_posts_published_published_at', 'posts', ['published', 'published_at'], unique=False)
    with op.batch_alter_table('post_tags', schema=None) as batch_op:
        batch_op.drop_column('published_at')
        batch_op.drop_column('published')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('following_count')
        batch_op.drop_column('followers_count')
        batch_op.drop_column('post_count')
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.drop_column('post_count')
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_column('favorites_count')
        batch_op.drop_column('comment_count')
    op.drop_table('counters')
