"""``flask --app penpress import-wordpress``: a realistic WordPress export, and malformed ones
refused with the database unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from penpress.accounts.models import User
from penpress.blog.models import Comment, Page, Post, Tag
from penpress.extensions import db
from penpress.media.models import Media
from penpress.transfer import format as fmt
from penpress.transfer.models import LegacyPath
from tests import factories, images
from tests.conftest import _wipe_database
from tests.transfer.helpers import row_counts
from tests.transfer.samples import BILLION_LAUGHS, EXPECTED, PHOTO_URL, wordpress_export


def _run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def _count(*where):
    return db.session.scalar(select(func.count()).select_from(Post).where(*where))


@pytest.fixture
def wxr(tmp_path):
    return wordpress_export(tmp_path / "wordpress.xml")


def test_a_wordpress_export_is_imported_with_exact_counts(app, wxr):
    result = _run(app, "import-wordpress", str(wxr))
    assert result.exit_code == 0, result.output + result.stderr
    total_posts = EXPECTED.posts
    assert f"Imported: {EXPECTED.authors + EXPECTED.readers} users" in result.output
    assert f"{total_posts} posts" in result.output
    assert f"{EXPECTED.pages} pages" in result.output
    assert f"{EXPECTED.comments} comments" in result.output
    assert "Skipped: 3 comments, 1 posts, 1 items" in result.output
    assert "marked 'spam' in WordPress" in result.output
    assert "a pingback" in result.output
    assert "the shortcode [newsletter_form] was removed" in result.output
    assert "alice <alice@example.com>" in result.output  # told how to claim the account
    with app.app_context():
        assert _count() == total_posts
        assert _count(Post.status == "published") == EXPECTED.published
        pages = db.session.scalars(select(Page).order_by(Page.slug)).all()
        assert [p.slug for p in pages] == ["about", "colophon", "contact", "privacy", "uber-uns"]
        assert pages[0].body == "This is the about page."
        assert all(p.published for p in pages)
        live = select(func.count()).select_from(Post).where(Post.went_live_at.is_not(None))
        assert db.session.scalar(live) == EXPECTED.published - EXPECTED.scheduled
        assert _count(Post.status == "draft") == EXPECTED.drafts
        assert _count(Post.status == "submitted") == EXPECTED.submitted
        assert db.session.scalar(select(func.count(Tag.id))) == EXPECTED.tags
        assert db.session.scalar(select(func.count(Comment.id))) == EXPECTED.comments
        pending = select(func.count(Comment.id)).where(Comment.approved.is_(False))
        assert db.session.scalar(pending) == EXPECTED.pending_comments
        authors = db.session.scalars(
            select(User).join(User.role).where(User.role.has(name="contributor"))
        ).all()
        assert sorted(u.username for u in authors) == ["alice", "bob-smith", "jean"]
        assert all(u.password_hash == fmt.NO_PASSWORD for u in authors)

        first = db.session.scalar(select(Post).where(Post.slug == "post-1"))
        assert first is not None
        assert "[caption" not in first.body
        assert "[gallery" not in first.body
        assert "[embed" not in first.body
        assert "[newsletter_form" not in first.body
        assert "*The harbour at dawn*" in first.body
        assert f"![A harbour]({PHOTO_URL})" in first.body
        assert "<script" not in first.body_html
        assert "<h2" in first.body_html
        assert "<li>two</li>" in first.body_html
        assert first.summary == "A short excerpt."
        assert first.featured_image_url == PHOTO_URL  # no --media-dir: a link
        assert first.published_at.year == 2019

        unicode = db.session.scalar(select(Post).where(Post.slug == "unicode"))
        assert unicode is not None
        assert unicode.title == "Ünïcödé — 日本語 😀"
        tags = db.session.scalars(
            select(Tag.slug).join(Post.tags).where(Post.id == unicode.id).order_by(Tag.slug)
        ).all()
        assert tags == ["cafe-culture", "news", "travel", "uber"]
        # Search finds imported posts by their tags too (the index's copy of the names).
        names = db.session.scalars(
            select(Tag.name).join(Post.tags).where(Post.id == unicode.id)
        ).all()
        assert sorted(unicode.search_tags.split()) == sorted(" ".join(names).split())

        scheduled = db.session.scalar(select(Post).where(Post.slug == "post-5"))
        assert scheduled.status == "published"
        assert scheduled.published_at.year == 2031
        draft = db.session.scalar(select(Post).where(Post.slug == "post-number-20"))
        assert draft is not None
        assert draft.status == "draft"

        thread = db.session.scalars(
            select(Comment.body).where(Comment.post_id == first.id).order_by(Comment.id)
        ).all()
        assert thread == ["Great *post*!", "@Reader One Thank you.", "@Alice Adams Is it?"]


def test_old_wordpress_addresses_redirect_permanently(app, wxr):
    client = app.test_client()
    assert client.get("/?p=1").status_code == 200  # the home page, maybe cached
    assert _run(app, "import-wordpress", str(wxr)).exit_code == 0
    for old, slug in [
        ("/?p=1", "post-1"),
        ("/2019/03/05/post-1/", "post-1"),
        ("/2019/03/05/post-1", "post-1"),
        ("/2019/03/06/%C3%BCnic%C3%B6de/", "unicode"),
    ]:
        response = client.get(old)
        assert response.status_code == 301, old
        assert response.headers["Location"].endswith(f"/blog/post/{slug}"), old
    assert client.get("/?p=99999").status_code == 200  # the home page, as before
    assert client.get("/2019/03/05/nothing-here/").status_code == 404


def test_old_wordpress_page_addresses_redirect_permanently(app, wxr):
    client = app.test_client()
    assert client.get("/contact/").status_code == 404  # nothing imported yet
    assert _run(app, "import-wordpress", str(wxr)).exit_code == 0
    with app.app_context():
        kept = select(func.count()).select_from(LegacyPath).where(LegacyPath.page_id.is_not(None))
        assert db.session.scalar(kept) == 2 * EXPECTED.pages
        assert db.session.scalar(select(func.count()).select_from(LegacyPath)) == (
            EXPECTED.redirects
        )
    for old, address in [
        ("/?page_id=1001", "/about"),
        ("/?page_id=1002", "/contact"),
        ("/contact/", "/contact"),
        ("/colophon/", "/colophon"),
        ("/%C3%BCber-uns/", "/uber-uns"),  # WordPress's percent-encoded slug, ASCII here
    ]:
        response = client.get(old)
        assert response.status_code == 301, old
        assert response.headers["Location"] == address, old
    assert client.get("/contact").status_code == 200  # the page itself, not a redirect
    assert client.get("/?page_id=99999").status_code == 200  # the home page, as before
    assert client.get("/?page_id=x").status_code == 200
    assert client.get("/nothing-here/").status_code == 404
    assert client.get("/blog/").status_code in (200, 308)  # fixed addresses come first
    with app.app_context():
        page = db.session.scalar(select(Page).where(Page.slug == "contact"))
        db.session.delete(page)
        db.session.commit()
    assert client.get("/contact/").status_code == 404  # its old addresses went with it
    assert client.get("/?page_id=1002").status_code == 200


def test_page_redirects_travel_in_a_penpress_export(app, wxr, tmp_path):
    assert _run(app, "import-wordpress", str(wxr)).exit_code == 0
    exported = tmp_path / "site.zip"
    assert _run(app, "export", str(exported)).exit_code == 0
    with app.app_context():
        _wipe_database()
    result = _run(app, "import", str(exported))
    assert result.exit_code == 0, result.output
    assert f"{EXPECTED.redirects} redirects" in result.output
    client = app.test_client()
    assert client.get("/?page_id=1003").headers["Location"] == "/colophon"
    assert client.get("/privacy/").headers["Location"] == "/privacy"


def test_the_same_export_twice_keeps_what_is_there(app, wxr):
    assert _run(app, "import-wordpress", str(wxr)).exit_code == 0
    with app.app_context():
        before = row_counts()
    again = _run(app, "import-wordpress", str(wxr))
    assert again.exit_code == 0, again.output
    assert "a post here has this slug; it is kept" in again.output
    with app.app_context():
        assert row_counts() == before


def test_email_authors_sends_each_new_author_a_link(app, wxr, outbox):
    result = _run(app, "import-wordpress", str(wxr), "--email-authors")
    assert result.exit_code == 0, result.output
    recipients = sorted(address for message in outbox for address in message.to)
    assert recipients == ["alice@example.com", "bob@example.com", "jean@example.com"]


def test_dry_run_writes_nothing(app, wxr):
    with app.app_context():
        before = row_counts()
    result = _run(app, "import-wordpress", str(wxr), "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"{EXPECTED.comments} comments" in result.output
    with app.app_context():
        assert row_counts() == before


def _refused(app, path, *expected):
    with app.app_context():
        factories.PostFactory()  # a site with content, which must stay as it is
        before = row_counts()
    result = _run(app, "import-wordpress", str(path))
    assert result.exit_code == 1, result.output
    assert "nothing was imported" in result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr
    with app.app_context():
        assert row_counts() == before


def test_an_entity_bomb_is_refused(app, tmp_path):
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(BILLION_LAUGHS)
    _refused(app, bomb, "bomb.xml: declares XML entities, which are refused", "billion laughs")


def test_truncated_xml_is_refused_with_its_line(app, wxr, tmp_path):
    text = wxr.read_text(encoding="utf-8")
    cut = tmp_path / "cut.xml"
    cut.write_text(text[: len(text) // 2], encoding="utf-8")
    _refused(app, cut, "cut.xml, line ", "not well-formed XML")


def test_an_unknown_wxr_version_is_refused(app, tmp_path):
    path = wordpress_export(tmp_path / "future.xml", version="9.9")
    _refused(app, path, "WXR version '9.9' is not one this reads")
    rss = tmp_path / "rss.xml"
    rss.write_text('<?xml version="1.0"?><rss version="2.0"><channel></channel></rss>')
    _refused(app, rss, "not a WordPress export")


def test_duplicate_slugs_are_refused(app, wxr, tmp_path):
    text = wxr.read_text(encoding="utf-8").replace(
        "<wp:post_name><![CDATA[post-12]]>", "<wp:post_name><![CDATA[post-11]]>"
    )
    duplicate = tmp_path / "duplicate.xml"
    duplicate.write_text(text, encoding="utf-8")
    _refused(
        app,
        duplicate,
        "duplicate.xml, item 12 (post 12 'Post number 12'), field 'slug': duplicate: "
        "slug='post-11' appears twice",
    )


def test_images_come_from_the_media_dir(app, wxr, tmp_path):
    folder = tmp_path / "uploads" / "2019" / "03"
    folder.mkdir(parents=True)
    (folder / "photo.jpg").write_bytes(images.png(size=(1600, 900)))  # named .jpg, is a PNG
    (tmp_path / "elsewhere.jpg").write_bytes(b"secret")
    result = _run(app, "import-wordpress", str(wxr), "--media-dir", str(tmp_path / "uploads"))
    assert result.exit_code == 0, result.output
    with app.app_context():
        (picture,) = db.session.scalars(select(Media)).all()
        assert picture.content_type == "image/png"  # judged by its content
        assert picture.original_name == "photo.jpg"
        first = db.session.scalar(select(Post).where(Post.slug == "post-1"))
        assert first.featured_image_id == picture.id
        assert first.featured_image_url is None
        assert PHOTO_URL not in first.body
        assert f"![A harbour](/media/{picture.name})" in first.body
        assert (Path(app.config["MEDIA_FOLDER"]) / picture.name).is_file()


def test_the_media_dir_is_never_left(app, wxr, tmp_path):
    """An address naming ../ cannot reach a file outside the folder given."""
    text = wxr.read_text(encoding="utf-8").replace(
        "wp-content/uploads/2019/03/photo.jpg", "wp-content/uploads/../secret.png"
    )
    wxr.write_text(text, encoding="utf-8")
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (tmp_path / "secret.png").write_bytes(images.png(size=(50, 50)))
    result = _run(app, "import-wordpress", str(wxr), "--media-dir", str(uploads))
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalars(select(Media)).all() == []
