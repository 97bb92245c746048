"""The console's export and import (``/admin/transfer``): background runs with progress, the
download, imports of the three formats through the page, refusals that change nothing, and
the routes closed to everyone but administrators."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from penpress.audit.models import AuditEntry
from penpress.blog.models import Comment, Page, Post
from penpress.database import utcnow
from penpress.extensions import cache, db
from penpress.transfer import services as transfer
from penpress.transfer.models import FAILED, RUNNING, TransferRun
from tests.conftest import _wipe_database
from tests.transfer.helpers import records_of, row_counts, with_records
from tests.transfer.samples import (
    EXPECTED,
    GHOST_EXPECTED,
    ghost_export,
    wordpress_export,
)

RUN_PAGE = re.compile(r"/admin/transfer/(\d+)$")


@pytest.fixture(autouse=True)
def _empty_transfer_folder(app: Flask) -> None:
    """Each test starts without files other tests left (their rolled-back uploads)."""
    folder = Path(app.config["TRANSFER_FOLDER"])
    if folder.is_dir():
        shutil.rmtree(folder)


@pytest.fixture
def admin(make):
    return make.user(username="boss", role_name="admin", email_confirmed_at=utcnow())


@pytest.fixture
def console(app: Flask, admin, login) -> FlaskClient:
    """A browser logged in as the administrator."""
    client = app.test_client()
    login(client, admin)
    return client


def _run_id(response) -> int:
    assert response.status_code == 303, response.get_data(as_text=True)[:1000]
    found = RUN_PAGE.search(response.headers["Location"])
    assert found, response.headers["Location"]
    return int(found.group(1))


def _upload(client: FlaskClient, content: bytes, name: str):
    return client.post(
        "/admin/transfer/import",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def _status(client: FlaskClient, run_id: int) -> dict:
    response = client.get(f"/admin/transfer/{run_id}/status")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def _uploads_left(app: Flask) -> list[Path]:
    return sorted(Path(app.config["TRANSFER_FOLDER"]).glob("upload-*"))


def _runs(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(TransferRun)) or 0


def _counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return row_counts()


# --- export -----------------------------------------------------------------------------------


def test_the_console_links_the_page_for_administrators_only(app, console, make, login):
    assert 'href="/admin/transfer/"' in console.get("/admin/").get_data(as_text=True)
    editor = make.user(username="ed", role_name="editor", email_confirmed_at=utcnow())
    other = app.test_client()
    login(other, editor)
    assert 'href="/admin/transfer/"' not in other.get("/admin/").get_data(as_text=True)


def test_an_export_runs_in_the_background_and_downloads_as_a_zip_the_cli_imports(
    app, console, make, tmp_path
):
    writer = make.user(username="writer")
    for number in range(3):
        post = make.post(author=writer, slug=f"post-{number}", title=f"Post {number}")
    make.comment(post=post, author=writer)

    page = console.get("/admin/transfer/")
    assert page.status_code == 200
    assert 'action="/admin/transfer/export"' in page.get_data(as_text=True)

    run_id = _run_id(console.post("/admin/transfer/export"))
    # The job ran (in process, as tests run jobs): the status says done, with the counts.
    status = _status(console, run_id)
    assert status["state"] == "done"
    assert status["finished"] is True
    assert status["done"] == status["total"]
    assert status["total"] >= 3 + 1 + 2  # posts, a comment, two accounts (and roles ...)
    assert status["download_url"] == f"/admin/transfer/{run_id}/download"

    shown = console.get(f"/admin/transfer/{run_id}").get_data(as_text=True)
    assert "Download the export" in shown
    assert "Exported" in shown

    with console.get(status["download_url"]) as download:
        data = download.data
    assert download.status_code == 200
    assert download.mimetype == "application/zip"
    disposition = download.headers["Content-Disposition"]
    assert re.fullmatch(
        r"attachment; filename=penpress-export-\d{4}-\d\d-\d\d-\d{6}\.zip", disposition
    ), disposition
    saved = tmp_path / "downloaded.zip"
    saved.write_bytes(data)
    with zipfile.ZipFile(saved) as archive:
        assert "manifest.json" in archive.namelist()
        posts = archive.read("posts.jsonl").decode().splitlines()
        assert len(posts) == 3
        assert all(
            '"password_hash"' not in line
            for line in archive.read("users.jsonl").decode().splitlines()
        )

    # The command line's importer accepts the file.
    result = app.test_cli_runner().invoke(args=["import", "--dry-run", str(saved)])
    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output

    # The file sits in the transfer folder under a generated name, not in a served folder.
    with app.app_context():
        run = db.session.get_one(TransferRun, run_id)
        assert run.file_name
        assert re.fullmatch(r"export-\d+-[0-9a-f]{16}\.zip", run.file_name)
        assert (Path(app.config["TRANSFER_FOLDER"]) / run.file_name).is_file()
        assert console.get(f"/static/{run.file_name}").status_code == 404
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_type == "transfer")
        ).all()
    assert sorted(actions) == ["transfer.download", "transfer.export"]


def test_only_the_newest_exports_are_kept(app, console, monkeypatch):
    monkeypatch.setitem(app.config, "TRANSFER_KEEP_EXPORTS", 2)
    folder = Path(app.config["TRANSFER_FOLDER"])
    runs, files = [], []
    for _ in range(3):
        runs.append(_run_id(console.post("/admin/transfer/export")))
        with app.app_context():
            name = db.session.get_one(TransferRun, runs[-1]).file_name
        assert name
        files.append(folder / name)
    assert not files[0].exists()  # removed when the third was written
    assert console.get(f"/admin/transfer/{runs[0]}/download").status_code == 404
    assert _status(console, runs[0])["downloadable"] is False
    for run_id, path in zip(runs[1:], files[1:], strict=True):
        assert path.is_file()
        with console.get(f"/admin/transfer/{run_id}/download") as response:
            assert response.status_code == 200


def test_the_status_shows_the_live_progress_of_a_running_job(app, console, admin):
    with app.app_context():
        run = TransferRun(kind="import", format="ghost", state=RUNNING, started_by_id=admin.id)
        db.session.add(run)
        db.session.commit()
        run_id = run.id
        cache.set(f"transfer-progress:{run_id}", {"step": "Importing", "done": 500, "total": 2000})
    status = _status(console, run_id)
    assert (status["state"], status["step"], status["done"], status["total"]) == (
        "running",
        "Importing",
        500,
        2000,
    )
    assert status["finished"] is False
    page = console.get(f"/admin/transfer/{run_id}")
    body = page.get_data(as_text=True)
    assert "Importing: 500 of 2000 records." in body
    # Without JavaScript, a plain button reloads the page; the script is a file (strict CSP).
    assert 'id="transfer-reload"' in body
    assert '<script src="/static/js/transfer.js" defer></script>' in body
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"].split("script-src")[1]
    with console.get("/static/js/transfer.js") as script:
        assert script.status_code == 200


# --- a run whose worker died -------------------------------------------------------------------


def _running(app: Flask, admin, *, kind: str = "import", minutes_ago: int = 0) -> int:
    """A run its job claimed ``minutes_ago`` (an import with its upload in the folder), as a
    worker that died then would leave it."""
    with app.app_context():
        folder = transfer.transfer_folder()
        upload = folder / "upload-stalled.json"
        upload.write_bytes(b'{"db": []}')
        run = TransferRun(
            kind=kind,
            format="ghost" if kind == "import" else "penpress",
            state=RUNNING,
            file_name=upload.name if kind == "import" else None,
            original_name="old-blog.json" if kind == "import" else None,
            started_by_id=admin.id,
            started_at=utcnow() - timedelta(minutes=minutes_ago),
            summary={},
        )
        db.session.add(run)
        db.session.commit()
        return run.id


def _state(app: Flask, run_id: int) -> TransferRun:
    with app.app_context():
        run = db.session.get_one(TransferRun, run_id)
        db.session.expunge(run)
        return run


def test_a_silent_running_import_shows_stalled_and_can_be_marked_failed(app, console, admin):
    run_id = _running(app, admin, minutes_ago=11)  # TRANSFER_STALL_SECONDS is 600
    status = _status(console, run_id)
    assert (status["state"], status["stalled"], status["finished"]) == ("running", True, False)
    body = console.get(f"/admin/transfer/{run_id}").get_data(as_text=True)
    assert 'id="transfer-stalled"' in body
    assert "has not reported any progress for" in body
    assert f'action="/admin/transfer/{run_id}/abandon"' in body
    assert 'data-stalled="true"' in body

    response = console.post(f"/admin/transfer/{run_id}/abandon")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/transfer/{run_id}"
    run = _state(app, run_id)
    assert run.state == FAILED
    assert run.finished_at is not None
    assert run.message.startswith("Marked as failed by boss: the import stopped reporting")
    assert run.file_name is None
    assert _uploads_left(app) == []  # the upload is deleted
    status = _status(console, run_id)
    assert (status["state"], status["stalled"], status["finished"]) == ("failed", False, True)
    assert "Marked as failed by boss" in console.get(f"/admin/transfer/{run_id}").get_data(
        as_text=True
    )
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "transfer.abandon")
        ).one()
        assert (entry.object_type, entry.object_id, entry.actor_name) == (
            "transfer",
            str(run_id),
            "boss",
        )

    # The outbox hands the dead worker's job over again: it does nothing.
    assert app.extensions["celery"].tasks[transfer.IMPORT_TASK].apply(args=(run_id,)).get() == (
        "skipped"
    )
    run = _state(app, run_id)
    assert (run.state, run.message[:16]) == (FAILED, "Marked as failed")
    # Once failed it is no longer stalled: a second "Mark as failed" is refused.
    assert console.post(f"/admin/transfer/{run_id}/abandon").status_code == 409


def test_a_stalled_export_loses_its_partial_file(app, console, admin):
    run_id = _running(app, admin, kind="export", minutes_ago=60)
    folder = Path(app.config["TRANSFER_FOLDER"])
    partial = folder / f"export-{run_id}-0123456789abcdef.zip"
    partial.write_bytes(b"PK\x03\x04")
    assert _status(console, run_id)["stalled"] is True
    assert console.post(f"/admin/transfer/{run_id}/abandon").status_code == 303
    assert not partial.exists()
    run = _state(app, run_id)
    assert run.state == FAILED
    assert "start a new export" in run.message


def test_a_running_job_that_reports_cannot_be_marked_failed(app, console, admin):
    fresh = _running(app, admin)
    assert _status(console, fresh)["stalled"] is False
    assert 'id="transfer-stalled"' not in console.get(f"/admin/transfer/{fresh}").get_data(
        as_text=True
    )
    response = console.post(f"/admin/transfer/{fresh}/abandon")
    assert response.status_code == 409
    assert "not stalled" in response.get_data(as_text=True)
    assert _state(app, fresh).state == RUNNING

    # Started long ago, but its progress reported a moment ago (the heartbeat): alive.
    with app.app_context():
        db.session.execute(
            update(TransferRun)
            .where(TransferRun.id == fresh)
            .values(started_at=utcnow() - timedelta(hours=2))
        )
        db.session.commit()
        transfer._Progress(fresh, "Importing", 2000)
    assert _status(console, fresh)["stalled"] is False
    assert console.post(f"/admin/transfer/{fresh}/abandon").status_code == 409
    assert _state(app, fresh).state == RUNNING
    assert _uploads_left(app) != []

    # Its last report was longer ago than TRANSFER_STALL_SECONDS: stalled.
    with app.app_context():
        live = cache.get(f"transfer-progress:{fresh}")
        cache.set(f"transfer-progress:{fresh}", live | {"at": time.time() - 601})
    assert _status(console, fresh)["stalled"] is True
    assert console.post(f"/admin/transfer/{fresh}/abandon").status_code == 303


def test_a_job_alive_after_all_throws_its_work_away(app, console, admin, tmp_path):
    """Marked as failed while it still worked (its reports lost): at its end the job finds
    the run no longer running, keeps no export file and rolls its import back."""
    export_id = _running(app, admin, kind="export", minutes_ago=60)
    import_id = _running(app, admin, minutes_ago=60)
    for run_id in (export_id, import_id):
        assert console.post(f"/admin/transfer/{run_id}/abandon").status_code == 303
    with app.app_context():
        # The live jobs do not look at their run again until they end.
        shutil.copy(ghost_export(tmp_path / "ghost.json"), transfer.transfer_folder() / "late.json")
        db.session.execute(
            update(TransferRun).where(TransferRun.id == import_id).values(file_name="late.json")
        )
        db.session.commit()
        before = row_counts()
        with pytest.raises(transfer.RunAbandoned) as raised:
            transfer.perform_import(import_id)
        db.session.rollback()  # what the task does next: roll back, record the failure
        transfer.fail_run(import_id, raised.value)
        db.session.commit()
        assert row_counts() == before
        assert transfer.perform_export(export_id).state == FAILED
        db.session.commit()
    assert list(Path(app.config["TRANSFER_FOLDER"]).glob(f"export-{export_id}-*")) == []
    for run_id in (export_id, import_id):
        run = _state(app, run_id)
        assert (run.state, run.message[:16]) == (FAILED, "Marked as failed")


# --- import -----------------------------------------------------------------------------------


def test_a_wordpress_export_is_imported_through_the_page(app, console, tmp_path):
    content = wordpress_export(tmp_path / "wordpress.xml").read_bytes()
    run_id = _run_id(_upload(console, content, "my-blog.WordPress.2026-11-30.xml"))
    status = _status(console, run_id)
    assert status["state"] == "done", status["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Post)) == EXPECTED.posts
        assert db.session.scalar(select(func.count()).select_from(Page)) == EXPECTED.pages
        assert db.session.scalar(select(func.count()).select_from(Comment)) == EXPECTED.comments
        run = db.session.get_one(TransferRun, run_id)
        assert run.format == "wordpress"
        assert run.summary["imported"]["posts"] == EXPECTED.posts
        assert run.summary["imported"]["pages"] == EXPECTED.pages
        assert run.summary["imported"]["redirects"] == EXPECTED.redirects
        assert run.summary["skipped_count"] == 5  # 3 comments, a post in the trash, a menu item
        assert run.file_name is None
    page = console.get(f"/admin/transfer/{run_id}").get_data(as_text=True)
    assert f"<li>{EXPECTED.posts} posts</li>" in page
    assert "Skipped (5)" in page
    assert "marked &#39;spam&#39; in WordPress" in page  # the reason, per record
    assert "Warnings (" in page
    assert "my-blog.WordPress.2026-11-30.xml, item 1 (post 1" in page  # named as it was sent
    assert "upload-" not in page
    assert "alice &lt;alice@example.com&gt;" in page  # told how the authors get in
    assert _uploads_left(app) == []  # the upload is deleted after the job
    # The old addresses work at once.
    assert console.get("/?p=1").headers["Location"].endswith("/blog/post/post-1")


def test_a_ghost_export_is_imported_through_the_page(app, console, tmp_path):
    content = ghost_export(tmp_path / "ghost.json").read_bytes()
    run_id = _run_id(_upload(console, content, "export.txt"))  # told by content, not name
    status = _status(console, run_id)
    assert status["state"] == "done", status["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Post)) == GHOST_EXPECTED.posts
        assert db.session.scalar(select(func.count()).select_from(Page)) == GHOST_EXPECTED.pages
        run = db.session.get_one(TransferRun, run_id)
        assert run.format == "ghost"
        assert run.summary["imported"]["posts"] == GHOST_EXPECTED.posts
        assert run.summary["imported"]["tags"] == GHOST_EXPECTED.tags
    assert _uploads_left(app) == []


def test_a_penpress_export_is_imported_through_the_page(app, console, make, login, tmp_path):
    writer = make.user(username="writer", email="writer@example.com")
    for number in range(4):
        post = make.post(author=writer, slug=f"post-{number}", title=f"Post {number}")
    make.comment(post=post, author=writer)
    exported = tmp_path / "site.zip"
    result = app.test_cli_runner().invoke(args=["export", str(exported)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        _wipe_database()
    fresh = make.user(username="owner", role_name="admin", email_confirmed_at=utcnow())
    client = app.test_client()
    login(client, fresh)

    run_id = _run_id(_upload(client, exported.read_bytes(), "site.zip"))
    status = _status(client, run_id)
    assert status["state"] == "done", status["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Post)) == 4
        assert db.session.scalar(select(func.count()).select_from(Comment)) == 1
        run = db.session.get_one(TransferRun, run_id)
        assert run.format == "penpress"
        assert run.summary["imported"]["posts"] == 4
        assert run.summary["imported"]["users"] == 2  # writer and boss (owner is new here)
        assert run.summary["imported"]["comments"] == 1
    assert _uploads_left(app) == []


def test_a_malformed_file_is_refused_with_its_place_and_changes_nothing(
    app, console, make, tmp_path
):
    make.post(slug="already-here")
    before = _counts(app)
    truncated = wordpress_export(tmp_path / "wordpress.xml").read_bytes()[:5000]
    run_id = _run_id(_upload(console, truncated, "old-blog.xml"))
    status = _status(console, run_id)
    assert status["state"] == "failed"
    assert "The file was refused; nothing was imported" in status["message"]
    assert re.search(r"old-blog\.xml, line \d+, column \d+: not well-formed XML", status["message"])
    assert _counts(app) == before
    page = console.get(f"/admin/transfer/{run_id}").get_data(as_text=True)
    assert "old-blog.xml, line" in page
    assert _uploads_left(app) == []


def test_a_zip_with_a_wrong_record_is_refused_and_changes_nothing(app, console, make, tmp_path):
    make.post(slug="already-here")
    exported = tmp_path / "site.zip"
    assert app.test_cli_runner().invoke(args=["export", str(exported)]).exit_code == 0
    posts = records_of(exported, "posts.jsonl")
    posts[0]["status"] = "lost"
    lines = [json.dumps(record) for record in posts]
    broken = with_records(exported, tmp_path / "broken.zip", "posts.jsonl", lines)
    before = _counts(app)
    run_id = _run_id(_upload(console, broken.read_bytes(), "broken.zip"))
    status = _status(console, run_id)
    assert status["state"] == "failed"
    assert "posts.jsonl, record 1, field 'status'" in status["message"]
    assert _counts(app) == before


def test_a_file_of_another_kind_is_refused_at_once(app, console):
    response = _upload(console, b"\x89PNG\r\n\x1a\n" + bytes(100), "photo.zip")
    assert response.status_code == 422
    assert "This is not a file Penpress imports" in response.get_data(as_text=True)
    response = _upload(console, b"<html><body>hello</body></html>", "page.xml")
    assert response.status_code == 422
    assert _runs(app) == 0
    assert _uploads_left(app) == []


def test_an_upload_without_a_file_is_refused(app, console):
    response = console.post("/admin/transfer/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose a file to import." in response.get_data(as_text=True)
    assert _runs(app) == 0


def test_an_oversized_upload_is_refused_with_413(app, console, monkeypatch):
    monkeypatch.setitem(app.config, "TRANSFER_MAX_UPLOAD_BYTES", 10_000)
    response = _upload(console, b"{" + b" " * 200_000 + b"}", "big.json")
    assert response.status_code == 413
    assert _runs(app) == 0
    assert _uploads_left(app) == []


def test_the_service_refuses_a_file_over_the_limit_it_reads(app, admin, monkeypatch):
    """A body without a length (chunked) is cut by the service itself."""
    monkeypatch.setitem(app.config, "TRANSFER_MAX_UPLOAD_BYTES", 1000)
    with app.app_context():
        from penpress.errors import TooLarge

        with pytest.raises(TooLarge):
            transfer.start_import(db.session.merge(admin), io.BytesIO(b"{" * 5000), "x.json")
        db.session.rollback()
    assert _uploads_left(app) == []


# --- who may ------------------------------------------------------------------------------------


ROUTES = [
    ("GET", "/admin/transfer/"),
    ("POST", "/admin/transfer/export"),
    ("POST", "/admin/transfer/import"),
    ("GET", "/admin/transfer/{id}"),
    ("GET", "/admin/transfer/{id}/status"),
    ("GET", "/admin/transfer/{id}/download"),
    ("POST", "/admin/transfer/{id}/abandon"),
]


@pytest.mark.parametrize("role", [None, "reader", "editor", "moderator"])
def test_everyone_but_administrators_is_refused(app, console, make, login, role):
    run_id = _run_id(console.post("/admin/transfer/export"))
    client = app.test_client()
    if role is not None:
        login(client, make.user(username=f"a-{role}", role_name=role, email_confirmed_at=utcnow()))
    before = _runs(app)
    for method, url in ROUTES:
        data = (
            {"file": (io.BytesIO(b'{"db": []}'), "ghost.json")} if url.endswith("import") else None
        )
        response = client.open(
            url.format(id=run_id),
            method=method,
            data=data,
            content_type="multipart/form-data" if data else None,
        )
        if role is None:
            assert response.status_code == 302, (method, url)
            assert "/auth/login" in response.headers["Location"]
        else:
            assert response.status_code == 403, (method, url, response.status_code)
            assert "PK" not in response.get_data(as_text=True)[:2]
    assert _runs(app) == before
    assert _uploads_left(app) == []


def test_an_import_removes_uploads_left_by_failed_requests(app, console, tmp_path):
    folder = Path(app.config["TRANSFER_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    old, recent = folder / "upload-old.json", folder / "upload-recent.json"
    for path in (old, recent):
        path.write_bytes(b"{}")
    two_days_ago = time.time() - 2 * 24 * 60 * 60
    os.utime(old, (two_days_ago, two_days_ago))
    content = ghost_export(tmp_path / "ghost.json").read_bytes()
    assert _status(console, _run_id(_upload(console, content, "ghost.json")))["state"] == "done"
    assert not old.exists()
    assert recent.exists()  # it may still be on its way to a run
    recent.unlink()
