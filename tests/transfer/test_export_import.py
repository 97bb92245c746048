"""``flask --app penpress export`` and ``import``: the format, the round trip, merging into a
site with content, and files refused whole with the database unchanged."""

from __future__ import annotations

import json
import secrets
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from penpress.accounts.models import Follow, User
from penpress.blog import counts
from penpress.blog.models import Comment, Page, Post
from penpress.database import utcnow
from penpress.extensions import db
from penpress.media.models import Media
from penpress.media.services import upload_image
from penpress.newsletter.models import Subscriber
from penpress.settings.models import SiteSetting
from penpress.transfer import format as fmt
from penpress.transfer.models import LegacyPath
from tests import factories, images
from tests.conftest import _wipe_database
from tests.transfer.helpers import members, records_of, rewrite, row_counts, with_records

SEEDED_POSTS = 60


def _run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


@pytest.fixture
def site(app):
    """A site with every kind of record: seeded content, a setting, a draft in review with a
    note, a scheduled post, unicode, a pending comment."""
    seeded = _run(app, "seed-db", "--posts", str(SEEDED_POSTS), "--seed", "7")
    assert seeded.exit_code == 0, seeded.output
    with app.app_context():
        db.session.add(SiteSetting(key="comments_require_approval", value="1"))
        writer = factories.UserFactory(username="zoe.l", email="zoe@example.com", bio="Écrit.")
        factories.PostFactory(
            author=writer,
            slug="returned-draft",
            title="Ça reviendra — 日本語",
            body="# Titre\n\nDu *texte* avec `code` et 😀.",
            published=False,
            status="returned",
            submitted_at=utcnow() - timedelta(days=1),
            review_note="Trop court.",
        )
        picture = upload_image(writer, images.png(size=(1200, 800)), "harbour.png")
        later = factories.PostFactory(
            author=writer,
            slug="scheduled",
            published_at=utcnow() + timedelta(days=3),
            featured_image_id=picture.id,
            featured_image_alt="The harbour",
            meta_title="Scheduled — for search engines",
            meta_description="What the post says, shortly.",
        )
        factories.PostFactory(
            author=writer, slug="linked-picture", featured_image_url="https://example.org/x.jpg"
        )
        factories.CommentFactory(post=later, author=writer, approved=False, body="En attente")
        factories.CommentFactory(
            post=later, author=writer, approved=False, spam=True, body="Cheap pills"
        )
        for email, status in [
            ("confirmed@example.com", "confirmed"),
            ("waiting@example.com", "pending"),
            ("gone@example.com", "unsubscribed"),
        ]:
            db.session.add(
                Subscriber(
                    email=email,
                    status=status,
                    source="form",
                    secret=secrets.token_hex(16),
                    confirmed_at=utcnow() if status == "confirmed" else None,
                    unsubscribed_at=utcnow() if status == "unsubscribed" else None,
                )
            )
        db.session.add(LegacyPath(path="/?p=7", post_id=later.id))
        writer.time_zone = "Europe/Paris"
        db.session.add(
            Page(
                slug="colophon",
                title="Colophon — ✓",
                body="Made *with* care.",
                body_html="<p>Made <em>with</em> care.</p>",
                published=True,
                show_in_nav=True,
                nav_order=3,
            )
        )
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        assert admin is not None
        db.session.add(Follow(follower_id=writer.id, followed_id=admin.id))
        db.session.commit()
    return app


def _stored_files(app):
    """The files of the site's images in the media folder (other tests' may be there too)."""
    folder = Path(app.config["MEDIA_FOLDER"])
    names = [
        name
        for media in db.session.scalars(select(Media))
        for name in fmt.image_files(media.name, media.widths)
    ]
    return sorted(folder / name for name in names if (folder / name).exists())


def test_export_writes_the_documented_format(site, tmp_path):
    result = _run(site, "export", str(tmp_path / "site.zip"))
    assert result.exit_code == 0, result.output
    assert "Exported to" in result.output
    path = tmp_path / "site.zip"
    assert path.stat().st_mode & 0o777 == 0o600
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["format"] == "penpress-export"
    assert manifest["version"] == 2
    assert manifest["with_secrets"] is False
    assert manifest["files"]["posts.jsonl"]["records"] == SEEDED_POSTS + 3
    users = records_of(path, "users.jsonl")
    assert all("password_hash" not in user for user in users)
    zoe = next(user for user in users if user["username"] == "zoe.l")
    assert zoe["email"] == "zoe@example.com"
    assert zoe["bio"] == "Écrit."
    posts = {post["slug"]: post for post in records_of(path, "posts.jsonl")}
    draft = posts["returned-draft"]
    assert draft["title"] == "Ça reviendra — 日本語"
    assert draft["body"].endswith("😀.")
    assert draft["status"] == "returned"
    assert draft["review_note"] == "Trop court."
    assert draft["author"] == "zoe.l"
    assert "body_html" not in draft  # the Markdown is the content; HTML is made on import
    assert posts["scheduled"]["featured_image_alt"] == "The harbour"
    assert posts["linked-picture"]["featured_image_url"] == "https://example.org/x.jpg"
    (picture,) = records_of(path, "media.jsonl")
    assert posts["scheduled"]["featured_image"] == picture["name"]
    assert picture["owner"] == "zoe.l"
    with zipfile.ZipFile(path) as archive:
        packed = [n for n in archive.namelist() if n.startswith("media/")]
    assert len(packed) == 1 + len(picture["widths"])
    comments = records_of(path, "comments.jsonl")
    assert {
        k: v
        for k, v in next(c for c in comments if c["body"] == "En attente").items()
        if k in {"post", "author", "approved", "spam"}
    } == {"post": "scheduled", "author": "zoe.l", "approved": False, "spam": False}
    spam = next(c for c in comments if c["body"] == "Cheap pills")
    assert (spam["approved"], spam["spam"]) == (False, True)
    subscribers = {s["email"]: s for s in records_of(path, "subscribers.jsonl")}
    assert subscribers["gone@example.com"]["status"] == "unsubscribed"
    assert "secret" not in subscribers["confirmed@example.com"]
    page = {p["slug"]: p for p in records_of(path, "pages.jsonl")}["colophon"]
    assert page["title"] == "Colophon — ✓"
    assert page["nav_order"] == 3
    assert zoe["time_zone"] == "Europe/Paris"
    assert records_of(path, "redirects.jsonl") == [{"path": "/?p=7", "post": "scheduled"}]
    assert records_of(path, "settings.jsonl") == [
        {"key": "comments_require_approval", "value": "1"}
    ]


def test_round_trip_export_import_export_gives_the_same_content(site, tmp_path):
    first, second = tmp_path / "first.zip", tmp_path / "second.zip"
    assert _run(site, "export", str(first), "--with-secrets").exit_code == 0
    with site.app_context():
        before = row_counts()
        stored = _stored_files(site)
        assert len(stored) == 3  # the image and two resized copies
        _wipe_database()
        for path in stored:
            path.unlink()
        assert row_counts()["posts"] == 0
    imported = _run(site, "import", str(first))
    assert imported.exit_code == 0, imported.output
    assert f"{SEEDED_POSTS + 3} posts" in imported.output
    with site.app_context():
        assert row_counts() == before
        assert _stored_files(site) == stored  # the image files are back in the storage
        post = db.session.scalar(select(Post).where(Post.slug == "scheduled"))
        assert post is not None
        picture = db.session.get(Media, post.featured_image_id)
        assert picture is not None
        assert picture.original_name == "harbour.png"
        assert post.featured_image_alt == "The harbour"
        assert post.meta_title == "Scheduled — for search engines"
        kept = counts.snapshot()
        counts.recount()
        assert kept == counts.snapshot()  # the import left the counters right
        post = db.session.scalar(select(Post).where(Post.slug == "returned-draft"))
        assert post is not None
        assert "<h1" in post.body_html
        assert "<em>texte</em>" in post.body_html
        assert post.published is False
        assert post.status == "returned"
    assert _run(site, "export", str(second), "--with-secrets").exit_code == 0
    one, two = members(first), members(second)
    for name in one:
        for index, (a, b) in enumerate(zip(one[name], two[name], strict=True)):
            assert a == b, f"{name} record {index + 1}"
    assert one == two


def test_without_secrets_accounts_are_claimed_by_a_reset_link(site, tmp_path):
    path = tmp_path / "site.zip"
    assert _run(site, "export", str(path)).exit_code == 0
    with site.app_context():
        _wipe_database()
    assert _run(site, "import", str(path)).exit_code == 0
    with site.app_context():
        zoe = db.session.scalar(select(User).where(User.username == "zoe.l"))
        assert zoe is not None
        assert zoe.password_hash == fmt.NO_PASSWORD
    login = site.test_client().post(
        "/api/v1/auth/tokens", json={"email": "zoe@example.com", "password": fmt.NO_PASSWORD}
    )
    assert login.status_code == 401


def test_import_merges_into_a_site_with_content(site, tmp_path):
    path = tmp_path / "site.zip"
    assert _run(site, "export", str(path)).exit_code == 0
    with site.app_context():
        _wipe_database()
        mine = factories.UserFactory(username="zoe.l", email="zoe-here@example.com")
        factories.PostFactory(author=mine, slug="scheduled", title="This site's own post")
        db.session.add(SiteSetting(key="comments_require_approval", value="0"))
        # Unsubscribed here, confirmed in the export: an import never subscribes them again.
        db.session.add(
            Subscriber(
                email="confirmed@example.com",
                status="unsubscribed",
                secret=secrets.token_hex(16),
                unsubscribed_at=utcnow(),
            )
        )
        db.session.commit()
        mine_id = mine.id
    result = _run(site, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "users zoe.l: username exists here; that account is kept" in result.output
    assert "posts scheduled: a post here has this slug; it is kept" in result.output
    assert "comments on scheduled: its post was not imported" in result.output
    assert "settings comments_require_approval: this site's value is kept" in result.output
    assert "subscribers confirmed@example.com: already on this site's list" in result.output
    with site.app_context():
        kept = db.session.scalar(select(Post).where(Post.slug == "scheduled"))
        assert kept is not None
        assert kept.title == "This site's own post"
        draft = db.session.scalar(select(Post).where(Post.slug == "returned-draft"))
        assert draft is not None
        assert draft.author_id == mine_id
        assert db.session.get(SiteSetting, "comments_require_approval").value == "0"
        statuses = dict(db.session.execute(select(Subscriber.email, Subscriber.status)).all())
        assert statuses == {
            "confirmed@example.com": "unsubscribed",
            "waiting@example.com": "pending",
            "gone@example.com": "unsubscribed",
        }
        after_first = row_counts()
    again = _run(site, "import", str(path))
    assert again.exit_code == 0, again.output
    assert "Imported: nothing" in again.output
    with site.app_context():
        assert row_counts() == after_first


def test_dry_run_reports_and_writes_nothing(site, tmp_path):
    path = tmp_path / "site.zip"
    assert _run(site, "export", str(path)).exit_code == 0
    with site.app_context():
        _wipe_database()
        empty = row_counts()
    result = _run(site, "import", str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Dry run: nothing was written" in result.output
    assert f"{SEEDED_POSTS + 3} posts" in result.output
    with site.app_context():
        assert row_counts() == empty


def _refused(app, path, *expected):
    with app.app_context():
        before = row_counts()
    result = _run(app, "import", str(path))
    assert result.exit_code == 1, result.output
    assert "nothing was imported" in result.stderr or "not a readable zip" in result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr
    with app.app_context():
        assert row_counts() == before
    return result


@pytest.fixture
def export(site, tmp_path):
    path = tmp_path / "site.zip"
    assert _run(site, "export", str(path)).exit_code == 0
    return path


def test_a_bad_record_is_refused_with_its_place_and_field(site, export, tmp_path):
    posts = [json.dumps(p) for p in records_of(export, "posts.jsonl")]
    broken = json.loads(posts[4])
    broken["status"] = "live"
    del broken["title"]
    posts[4] = json.dumps(broken)
    posts[7] = "{not json"
    bad = with_records(export, tmp_path / "bad.zip", "posts.jsonl", posts)
    _refused(
        site,
        bad,
        "posts.jsonl, record 5, field 'status': Must be one of",
        "posts.jsonl, record 5, field 'title': Missing data for required field.",
        "posts.jsonl, record 8: not valid JSON",
    )


def test_duplicate_slugs_and_dangling_references_are_refused(site, export, tmp_path):
    posts = records_of(export, "posts.jsonl")
    posts[3]["slug"] = posts[2]["slug"]
    posts[5]["author"] = "nobody-at-all"
    posts[6]["tags"] = ["no-such-tag"]
    bad = with_records(export, tmp_path / "dup.zip", "posts.jsonl", [json.dumps(p) for p in posts])
    _refused(
        site,
        bad,
        f"posts.jsonl, record 4, field 'slug': duplicate: slug={posts[2]['slug']!r} appears twice",
        "posts.jsonl, record 6, field 'author': 'nobody-at-all' is not in users.jsonl",
        "posts.jsonl, record 7, field 'tags': 'no-such-tag' is not in tags.jsonl",
    )


def test_the_database_is_unchanged_when_a_late_record_is_bad(site, export, tmp_path):
    """Users, tags and posts are fine; one favorite at the end is not: nothing goes in."""
    with site.app_context():
        _wipe_database()
    favorites = records_of(export, "favorites.jsonl")
    assert favorites
    favorites[-1]["post"] = "no-such-post"
    bad = with_records(
        export, tmp_path / "late.zip", "favorites.jsonl", [json.dumps(f) for f in favorites]
    )
    _refused(site, bad, f"favorites.jsonl, record {len(favorites)}, field 'post'")


def test_a_version_1_export_without_spam_states_imports(site, export, tmp_path):
    """Exports made before version 2 have no ``spam`` on comments: they still import, and
    their comments keep their approval."""
    comments = records_of(export, "comments.jsonl")
    assert comments
    assert all("spam" in record for record in comments)
    old = [json.dumps({k: v for k, v in c.items() if k != "spam"}) for c in comments]
    older = with_records(export, tmp_path / "v1-comments.zip", "comments.jsonl", old)
    with zipfile.ZipFile(older) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    manifest["version"] = 1
    v1 = rewrite(older, tmp_path / "v1.zip", {"manifest.json": json.dumps(manifest)})
    with site.app_context():
        db.session.rollback()
        _wipe_database()
    result = _run(site, "import", str(v1))
    assert result.exit_code == 0, result.output
    with site.app_context():
        approved = db.session.scalars(select(Comment.approved).order_by(Comment.id)).all()
        assert approved == [c["approved"] for c in comments]
        assert db.session.scalar(select(Comment.id).where(Comment.spam.is_(True))) is None


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ({"format": "penpress-export", "version": 3, "files": {}}, "version 3 is newer"),
        ({"format": "wordpress", "version": 1, "files": {}}, "field 'format'"),
        ("[1, 2", "manifest.json: not readable JSON"),
        (None, "manifest.json: missing: this is not a Penpress export"),
    ],
)
def test_a_wrong_manifest_is_refused(site, export, tmp_path, manifest, message):
    content = (
        None
        if manifest is None
        else (manifest if isinstance(manifest, str) else json.dumps(manifest))
    )
    bad = rewrite(export, tmp_path / "manifest.zip", {"manifest.json": content})
    _refused(site, bad, message)


def test_a_truncated_or_tampered_file_is_refused(site, export, tmp_path):
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(export.read_bytes()[: export.stat().st_size // 2])
    _refused(site, truncated, "not a readable zip file")
    comments = records_of(export, "comments.jsonl")
    short = "".join(json.dumps(c) + "\n" for c in comments[:-1])
    cut = rewrite(export, tmp_path / "cut.zip", {"comments.jsonl": short})
    _refused(site, cut, f"comments.jsonl: holds {len(comments) - 1} records; the manifest says")


def test_imported_html_is_rendered_from_the_markdown_never_taken_from_the_file(
    site, export, tmp_path
):
    with site.app_context():
        _wipe_database()
    posts = records_of(export, "posts.jsonl")
    posts[0]["body"] = "Hi <script>alert(1)</script> <img src=x onerror=alert(2)>"
    posts[0]["body_html"] = "<script>alert(3)</script>"
    path = with_records(export, tmp_path / "x.zip", "posts.jsonl", [json.dumps(p) for p in posts])
    # An unknown field is refused too (what the file claims must mean something here).
    _refused(site, path, "posts.jsonl, record 1, field 'body_html': Unknown field.")
    del posts[0]["body_html"]
    path = with_records(export, tmp_path / "y.zip", "posts.jsonl", [json.dumps(p) for p in posts])
    assert _run(site, "import", str(path)).exit_code == 0
    with site.app_context():
        post = db.session.scalar(select(Post).where(Post.slug == posts[0]["slug"]))
        assert post is not None
        assert "<script" not in post.body_html
        assert "onerror" not in post.body_html
        assert db.session.scalar(select(Comment).limit(1)) is not None


def test_a_media_file_that_is_not_its_image_is_left_out(site, export, tmp_path):
    (picture,) = records_of(export, "media.jsonl")
    forged = rewrite(
        export,
        tmp_path / "forged.zip",
        {f"media/{picture['name']}": b"<html><script>alert(1)</script></html>"},
    )
    with site.app_context():
        _wipe_database()
    result = _run(site, "import", str(forged))
    assert result.exit_code == 0, result.output
    assert f"media/{picture['name']}: not a stored image; left out" in result.output
    assert (
        f"media {picture['name']}: its files are missing from the export or not images"
        in result.output
    )
    with site.app_context():
        assert db.session.scalar(select(Media).limit(1)) is None
        post = db.session.scalar(select(Post).where(Post.slug == "scheduled"))
        assert post is not None
        assert post.featured_image_id is None


def test_comments_keep_their_spam_state_and_older_exports_have_none() -> None:
    """An export made before comments had a spam state reads as not spam; spam read from a
    file is never approved (it stays hidden)."""
    record = {
        "post": "p",
        "author": "a",
        "body": "Hi",
        "approved": True,
        "created_at": "2026-11-30T09:00:00+00:00",
        "updated_at": "2026-11-30T09:00:00+00:00",
    }
    assert fmt.CommentRecord().load(record)["spam"] is False
    assert fmt.CommentRecord().load({**record, "spam": True})["spam"] is True
