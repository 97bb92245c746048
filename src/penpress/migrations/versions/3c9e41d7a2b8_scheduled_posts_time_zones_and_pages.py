"""scheduled posts (went_live_at), users' time zones and static pages with the About page

Revision ID: 3c9e41d7a2b8
Revises: 7f0581b58f01
Create Date: 2026-12-01 09:00:00.000000

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

import penpress.database


# revision identifiers, used by Alembic.
revision = '3c9e41d7a2b8'
down_revision = '7f0581b58f01'
branch_labels = None
depends_on = None

# The About page as the fixed template had it; frozen here (the app's copy may change).
ABOUT_TITLE = "About"
ABOUT_BODY = "This is a self-hosted blog for several authors. Anyone can read the published posts;\nregistered members write their own posts in Markdown, tag them, and comment on other\npeople's writing.\n\n## How it works\n\n- **Readers** browse posts by date, by [list](/blog/), by tag and by author.\n- **Authors** keep drafts private until they publish them (or schedule them for later), and\n  can edit or delete their own posts at any time.\n- **Moderators** approve or remove comments; the site can hold every new comment until a\n  moderator has read it.\n- **Administrators** manage accounts, roles, site settings and pages such as this one.\n\n## Your account\n\n[Create an account](/auth/register) to write and comment, or [log in](/auth/login). Once you\nare logged in, change your bio, picture, time zone or password on your\n[profile](/auth/profile). Changing your password or logging out ends the session on our side,\nso an old copy of your login cookie is worthless.\n"
ABOUT_HTML = '<p>This is a self-hosted blog for several authors. Anyone can read the published posts;\nregistered members write their own posts in Markdown, tag them, and comment on other\npeople\'s writing.</p>\n<h2 id="h-how-it-works">How it works <a class="heading-anchor" href="#h-how-it-works" aria-label="Link to this section">#</a></h2>\n<ul>\n<li><strong>Readers</strong> browse posts by date, by <a href="/blog/">list</a>, by tag and by author.</li>\n<li><strong>Authors</strong> keep drafts private until they publish them (or schedule them for later), and\ncan edit or delete their own posts at any time.</li>\n<li><strong>Moderators</strong> approve or remove comments; the site can hold every new comment until a\nmoderator has read it.</li>\n<li><strong>Administrators</strong> manage accounts, roles, site settings and pages such as this one.</li>\n</ul>\n<h2 id="h-your-account">Your account <a class="heading-anchor" href="#h-your-account" aria-label="Link to this section">#</a></h2>\n<p><a href="/auth/register">Create an account</a> to write and comment, or <a href="/auth/login">log in</a>. Once you\nare logged in, change your bio, picture, time zone or password on your\n<a href="/auth/profile">profile</a>. Changing your password or logging out ends the session on our side,\nso an old copy of your login cookie is worthless.</p>\n'


def upgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('went_live_at', penpress.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_posts_went_live_at_published_at', ['went_live_at', 'published_at'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))

    pages = op.create_table('pages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('show_in_nav', sa.Boolean(), nullable=False),
    sa.Column('nav_order', sa.Integer(), nullable=False),
    sa.Column('created_at', penpress.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', penpress.database.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pages')),
    sa.UniqueConstraint('slug', name=op.f('uq_pages_slug'))
    )

    # Every post published so far has gone live already: its "went live" job must not run.
    posts = sa.table('posts', sa.column('published_at', penpress.database.UTCDateTime()),
                     sa.column('went_live_at', penpress.database.UTCDateTime()))
    op.execute(
        posts.update().where(posts.c.published_at.is_not(None))
        .values(went_live_at=posts.c.published_at)
    )
    # /about becomes an editable page, with the text it had.
    now = datetime.now(timezone.utc)
    op.bulk_insert(pages, [{
        'slug': 'about', 'title': ABOUT_TITLE, 'body': ABOUT_BODY, 'body_html': ABOUT_HTML,
        'published': True, 'show_in_nav': False, 'nav_order': 0,
        'created_at': now, 'updated_at': now,
    }])


def downgrade():
    op.drop_table('pages')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('time_zone')

    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_index('ix_posts_went_live_at_published_at')
        batch_op.drop_column('went_live_at')
