"""``flask --app penpress export|import|import-wordpress|import-ghost``: the command-line
front door of the transfer package. Each import is checked whole, then written in one
transaction that is committed only if everything went in (``--dry-run`` rolls it back)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import click
from flask.cli import with_appcontext

from penpress.accounts import recovery
from penpress.extensions import db
from penpress.transfer import exporter, importer
from penpress.transfer.ghost import read_ghost
from penpress.transfer.importer import ImportReport, Source, TransferError
from penpress.transfer.wordpress import read_wordpress


@contextmanager
def _progress_bar(label: str, totals: Callable[[str], int | None]) -> Iterator[importer.Progress]:
    """A progress bar per kind of record (on standard error, so output stays parseable)."""
    bars: dict[str, Any] = {}

    def update(kind: str, done: int) -> None:
        bar = bars.get(kind)
        if bar is None:
            total = totals(kind)
            if not total:  # nothing to measure against: a line per batch instead
                click.echo(f"{label} {kind}: {done}", err=True)
                return
            make_bar: Any = click.progressbar
            bar = make_bar(length=total, label=f"{label} {kind}", file=sys.stderr)
            bar.__enter__()
            bars[kind] = bar
        bar.update(done - bar.pos)

    try:
        yield update
    finally:
        for bar in bars.values():
            bar.__exit__(None, None, None)


@click.command("export")
@with_appcontext
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option(
    "--with-secrets",
    is_flag=True,
    help="Include password hashes (the file then lets anyone log in as your users).",
)
def export_command(file: Path, with_secrets: bool) -> None:
    """Write the whole site to the zip FILE (docs/export-format.md)."""
    with _progress_bar("Exporting", lambda _kind: None) as progress:
        report = exporter.export_site(file, with_secrets=with_secrets, progress=progress)
    counts = ", ".join(f"{n} {kind}" for kind, n in report.counts.items())
    click.echo(f"Exported to {report.path}: {counts}; {report.files} image files.")
    if report.missing_files:
        click.echo(
            f"Warning: {len(report.missing_files)} image files are missing from the media "
            "storage; the import leaves their images out: " + ", ".join(report.missing_files[:20])
        )


def run_import(
    source: Source,
    *,
    dry_run: bool,
    label: str,
    before_commit: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Check and write ``source`` in one transaction; refuse it with its problems, or commit
    (roll back on a dry run), then print the summary."""
    try:
        with _progress_bar("Checking", source.count) as progress:
            importer.validate(source, progress)
        with _progress_bar(label, source.count) as progress:
            report = importer.load(source, progress, store_files=not dry_run)
        if before_commit:
            before_commit(report)
    except TransferError as error:
        db.session.rollback()
        lines = [f"  {problem}" for problem in error.problems]
        raise click.ClickException(
            "The file was refused; nothing was imported:\n" + "\n".join(lines)
        ) from None
    except BaseException:
        db.session.rollback()
        raise
    if dry_run:
        db.session.rollback()
        click.echo("Dry run: nothing was written. It would have done this:")
    else:
        db.session.commit()
        importer.after_import()
    for line in report.summary_lines():
        click.echo(line)
    return report


@click.command("import")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and report, but write nothing.")
def import_command(file: Path, dry_run: bool) -> None:
    """Import a Penpress export zip FILE into this site (merging into existing content)."""
    try:
        source = importer.open_zip(file)
    except TransferError as error:
        raise click.ClickException(str(error)) from None
    try:
        run_import(source, dry_run=dry_run, label="Importing")
    finally:
        source.close()


class _Converted(Protocol):
    """Another platform's export read into records (``WordPressFile``, ``GhostFile``)."""

    skipped: list[tuple[str, str, str]]
    warnings: list[str]

    def source(self) -> Source: ...

    def close(self) -> None: ...


def _import_converted(
    read: Callable[[], _Converted], *, dry_run: bool, email_authors: bool
) -> None:
    """Import another platform's export; tell (or email) the authors created how to get in."""
    try:
        converted = read()
    except TransferError as error:
        raise click.ClickException(
            "The file was refused; nothing was imported:\n"
            + "\n".join(f"  {problem}" for problem in error.problems)
        ) from None

    def claim_links(report: ImportReport) -> None:
        report.skipped[:0] = converted.skipped
        report.warnings[:0] = converted.warnings
        if email_authors and not dry_run:
            for _username, email, role in report.new_accounts:
                if role == "contributor":
                    recovery.request_password_reset(email)

    try:
        report = run_import(
            converted.source(), dry_run=dry_run, label="Importing", before_commit=claim_links
        )
    finally:
        converted.close()
    authors = [(u, e) for u, e, role in report.new_accounts if role == "contributor"]
    if authors:
        how = (
            "each was emailed a link to set a password"
            if email_authors and not dry_run
            else "they set one with 'Forgot your password?' (/auth/reset), "
            "or run the import with --email-authors"
        )
        click.echo(f"Authors created without a password ({how}):")
        for username, email in authors:
            click.echo(f"  {username} <{email}>")


_dry_run = click.option("--dry-run", is_flag=True, help="Check and report, but write nothing.")
_media_dir = click.option(
    "--media-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A copy of the old site's uploads folder: images are taken from it (never "
    "downloaded); without it, images stay links to their old addresses.",
)
_email_authors = click.option(
    "--email-authors",
    is_flag=True,
    help="Email each author account created a link to set its password.",
)


@click.command("import-wordpress")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_media_dir
@_dry_run
@_email_authors
def import_wordpress_command(
    file: Path, media_dir: Path | None, dry_run: bool, email_authors: bool
) -> None:
    """Import a WordPress export (WXR) FILE: posts, pages, tags, comments and authors."""
    _import_converted(
        lambda: read_wordpress(file, media_dir), dry_run=dry_run, email_authors=email_authors
    )


@click.command("import-ghost")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_media_dir
@_dry_run
@_email_authors
def import_ghost_command(
    file: Path, media_dir: Path | None, dry_run: bool, email_authors: bool
) -> None:
    """Import a Ghost JSON export FILE: posts, pages, tags and authors."""
    _import_converted(
        lambda: read_ghost(file, media_dir), dry_run=dry_run, email_authors=email_authors
    )


COMMANDS = (export_command, import_command, import_wordpress_command, import_ghost_command)
