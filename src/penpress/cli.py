"""``flask --app penpress ...`` commands: init-db, seed-db, create-admin, render-posts, backup,
restore."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import bindparam, select, update

from penpress import backups, demo
from penpress.accounts import services as accounts
from penpress.blog.markdown import render_markdown
from penpress.blog.models import Page, Post
from penpress.blog.services.tags import invalidate_tag_counts
from penpress.database import MIGRATIONS_DIR
from penpress.errors import DomainError
from penpress.extensions import db
from penpress.seeding import (
    GENERATED_EMAIL_DOMAIN,
    GENERATED_PASSWORD,
    SeedError,
    SeedPlan,
    bulk_load,
    default_users,
)


def init_cli(app: Flask) -> None:
    app.cli.add_command(init_db)
    app.cli.add_command(seed_db)
    app.cli.add_command(create_admin)
    app.cli.add_command(render_posts)

    app.cli.add_command(backup)
    app.cli.add_command(restore)


@click.command("init-db")
@with_appcontext
@click.option("--seed-if-empty", is_flag=True, help="Add demo content when there are no users.")
def init_db(seed_if_empty: bool) -> None:
    """Create or upgrade the database schema to the latest migration."""
    upgrade(directory=str(MIGRATIONS_DIR))
    accounts.ensure_roles()
    db.session.commit()
    click.echo("Database is up to date.")
    if seed_if_empty and demo.is_empty():
        _seed()


@click.command("seed-db")
@with_appcontext
@click.option(
    "--users",
    type=click.IntRange(min=0),
    default=None,
    help="Accounts in all, the demo accounts included (at least 3). "
    "[default: one per 50 posts, 5 to 20,000]",
)
@click.option("--posts", type=click.IntRange(min=0), default=30, show_default=True)
@click.option("--comments", type=click.IntRange(min=0), default=None, help="[default: 3 per post]")
@click.option(
    "--favorites", type=click.IntRange(min=0), default=None, help="[default: 1.5 per post]"
)
@click.option(
    "--follows", type=click.IntRange(min=0), default=None, help="[default: 10 per new account]"
)
@click.option("--seed", "seed_value", default=42, show_default=True, help="Random seed.")
def seed_db(
    users: int | None,
    posts: int,
    comments: int | None,
    favorites: int | None,
    follows: int | None,
    seed_value: int,
) -> None:
    """Fill the database with demo accounts and generated posts, tags, comments, favorites
    and follows, in bulk (a million posts take a few minutes).

    On a database with content it appends: new accounts and posts get names and slugs
    nobody has, and existing tags are reused.
    """
    total = default_users(posts) if users is None else max(users, 3)
    demo_count = min(total, len(demo.DEMO_ACCOUNTS))
    demo_report = demo.seed(users=demo_count, posts=0, comments=0, seed_value=seed_value)
    db.session.commit()
    plan = SeedPlan.for_posts(
        posts,
        users=total - demo_count,
        comments=comments,
        favorites=favorites,
        follows=follows,
        seed=seed_value,
    )
    try:
        report = bulk_load(db.engine, plan, progress=lambda line: click.echo(f"  {line}", err=True))
    except SeedError as error:
        raise click.ClickException(str(error)) from None
    invalidate_tag_counts()  # the home page's cached tag list no longer counts right
    click.echo(f"Seeded {report.posts} posts and {report.comments} comments.")
    click.echo(
        f"Also {report.users} generated accounts ({report.authors} authors), "
        f"{report.new_tags} new tags, {report.favorites} favorites and {report.follows} "
        f"follows, in {report.seconds:.1f} s ({report.cpu_seconds:.1f} s of CPU)."
    )
    if report.users:
        click.echo(
            f"Generated accounts (@{GENERATED_EMAIL_DOMAIN}) all have the password: "
            f"{GENERATED_PASSWORD}"
        )
    _print_demo_accounts(demo_report.accounts)


def _seed(users: int = 5, posts: int = 30, comments: int = 60) -> None:
    """The small demo seed of ``init-db --seed-if-empty``, through the services."""
    report = demo.seed(users=users, posts=posts, comments=comments)
    db.session.commit()
    click.echo(f"Seeded {report.posts} posts and {report.comments} comments.")
    _print_demo_accounts(report.accounts)


def _print_demo_accounts(accounts: list[tuple[str, str, str, str]]) -> None:
    if accounts:
        click.echo("Demo accounts (change these passwords before going public):")
        for username, email, password, role in accounts:
            click.echo(f"  {role:<9} {username:<10} {email:<24} password: {password}")
    else:
        click.echo("The demo accounts already existed; none were created.")


@click.command("create-admin")
@with_appcontext
@click.option("--username", required=True)
@click.option("--email", required=True)
@click.option("--password", required=True, prompt=True, hide_input=True)
def create_admin(username: str, email: str, password: str) -> None:
    """Create an administrator account."""
    accounts.ensure_roles()
    try:
        user = accounts.create_account(username, email, password, role="admin", confirmed=True)
    except DomainError as error:
        db.session.rollback()
        problems = "; ".join(m for ms in error.details.values() for m in ms) or error.message
        raise click.ClickException(problems) from None
    db.session.commit()
    click.echo(f"Admin {user.username} <{user.email}> created.")


@click.command("render-posts")
@with_appcontext
@click.option(
    "--batch-size",
    default=200,
    show_default=True,
    type=click.IntRange(min=1),
    help="Posts read, rendered and committed at a time.",
)
def render_posts(batch_size: int) -> None:
    """Render every post's (and static page's) HTML again from its Markdown (after the
    renderer changed).

    Posts are read ``batch_size`` at a time in id order, only their id, Markdown and HTML, and
    each batch is committed on its own, so memory stays flat and an interrupted run can simply
    be started again. Only changed HTML is written, and ``updated_at`` is kept: re-rendering is
    not an edit.
    """
    seen = changed = 0
    last_id = 0
    while True:
        batch = db.session.execute(
            select(Post.id, Post.body, Post.body_html, Post.updated_at)
            .where(Post.id > last_id)
            .order_by(Post.id)
            .limit(batch_size)
        ).all()
        if not batch:
            break
        last_id = batch[-1].id
        # Bulk UPDATE by primary key. ``updated_at`` is passed as it was, or its onupdate
        # default would stamp every re-rendered post as edited now; and a post edited since it
        # was read (its ``updated_at`` moved) is left alone, as the edit rendered it.
        updates = [
            {
                "id": row.id,
                "body_html": html,
                "updated_at": row.updated_at,
                "read_at": row.updated_at,
            }
            for row in batch
            if (html := render_markdown(row.body)) != row.body_html
        ]
        if updates:
            db.session.execute(
                update(Post).where(Post.updated_at == bindparam("read_at")),
                updates,
                execution_options={"synchronize_session": None},  # no Post objects are loaded
            )
        db.session.commit()
        seen += len(batch)
        changed += len(updates)
        click.echo(f"Rendered {seen} posts ({changed} changed)...")
    click.echo(f"Done: {seen} posts rendered, {changed} changed.")
    # Static pages are few: all at once, kept as dated as they were.
    pages_changed = 0
    for page in db.session.scalars(select(Page)):
        html = render_markdown(page.body)
        if html != page.body_html:
            db.session.execute(
                update(Page)
                .where(Page.id == page.id)
                .values(body_html=html, updated_at=page.updated_at)
            )
            pages_changed += 1
    db.session.commit()
    click.echo(f"Static pages: {pages_changed} changed.")


@click.command("backup")
@with_appcontext
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def backup(file: Path) -> None:
    """Copy the live database to FILE, consistently, while the site keeps running."""
    try:
        made = backups.backup(db.engine, file)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from None
    size = made.path.stat().st_size
    click.echo(
        f"Backed up the {made.dialect} database (migration {made.revision}) to {made.path} "
        f"({size} bytes)."
    )


@click.command("restore")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace everything in a database that has tables.")
def restore(file: Path, force: bool) -> None:
    """Put the backup FILE into the (empty) database, then migrate it to this version."""
    try:
        restored = backups.restore(db.engine, file, force=force)
    except backups.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Restored {file} (migration {restored.revision}).")
    if restored.revision != backups.code_revision():
        upgrade(directory=str(MIGRATIONS_DIR))
        click.echo(f"Migrated it to {backups.code_revision()}.")
