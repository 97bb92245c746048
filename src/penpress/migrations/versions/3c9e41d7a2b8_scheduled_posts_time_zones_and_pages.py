"""scheduled posts (went_live_at), users' time zones and static pages with the About page

Revision ID: 3c9e41d7a2b8
Revises: 1c59c9ad0b26
Create Date: 2026-12-01 09:00:00.000000

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

import penpress.database


# revision identifiers, used by Alembic.
revision = '3c9e41d7a2b8'
down_revision = '1c59c9ad0b26'
branch_labels = None
depends_on = None

# The About page as the fixed template had it; frozen here (the app's copy may change).
ABOUT_TITLE = "About"
ABOUT_BODY = 'This is a self-hosted blog for several authors. Anyone can read the published posts;\nmembers comment, follow authors and keep favorites, and writers write their posts in\nMarkdown and tag them.\n\n## How it works\n\n- **Readers** browse posts by date, by [list](/blog/), by tag and by author, and comment on\n  them.\n- **Contributors** write drafts and submit them for review; an editor publishes them or sends\n  them back with a note.\n- **Authors** keep drafts private until they publish them (or schedule them for later), and\n  can edit or delete their own posts at any time.\n- **Moderators** approve or remove comments; the site can hold every new comment until a\n  moderator has read it.\n- **Editors** review submissions, edit, publish and schedule any post, look after the tags and\n  invite new members.\n- **Administrators** manage accounts, roles, site settings and pages such as this one.\n\n## Your account\n\n[Create an account](/auth/register) to comment, or [log in](/auth/login). Once you are logged\nin, change your bio, picture, time zone or password on your [profile](/auth/profile).\nChanging your password or logging out ends the session on our side, so an old copy of your\nlogin cookie is worthless.\n'
ABOUT_HTML = '<p>This is a self-hosted blog for several authors. Anyone can read the published posts;\nmembers comment, follow authors and keep favorites, and writers write their posts in\nMarkdown and tag them.</p>\n<h2 id="h-how-it-works">How it works <a class="heading-anchor" href="#h-how-it-works" aria-label="Link to this section">#</a></h2>\n<ul>\n<li><strong>Readers</strong> browse posts by date, by <a href="/blog/">list</a>, by tag and by author, and comment on\nthem.</li>\n<li><strong>Contributors</strong> write drafts and submit them for review; an editor publishes them or sends\nthem back with a note.</li>\n<li><strong>Authors</strong> keep drafts private until they publish them (or schedule them for later), and\ncan edit or delete their own posts at any time.</li>\n<li><strong>Moderators</strong> approve or remove comments; the site can hold every new comment until a\nmoderator has read it.</li>\n<li><strong>Editors</strong> review submissions, edit, publish and schedule any post, look after the tags and\ninvite new members.</li>\n<li><strong>Administrators</strong> manage accounts, roles, site settings and pages such as this one.</li>\n</ul>\n<h2 id="h-your-account">Your account <a class="heading-anchor" href="#h-your-account" aria-label="Link to this section">#</a></h2>\n<p><a href="/auth/register">Create an account</a> to comment, or <a href="/auth/login">log in</a>. Once you are logged\nin, change your bio, picture, time zone or password on your <a href="/auth/profile">profile</a>.\nChanging your password or logging out ends the session on our side, so an old copy of your\nlogin cookie is worthless.</p>\n'


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
