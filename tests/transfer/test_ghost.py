"""``flask --app penpress import-ghost``: a Ghost export with every kind of content, and
malformed ones refused with the database unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from penpress.accounts.models import User
from penpress.blog.models import Page, Post, Tag
from penpress.extensions import db
from penpress.media.models import Media
from tests import factories, images
from tests.transfer.helpers import row_counts
from tests.transfer.samples import GHOST_EXPECTED, ghost_export


def _run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def _post(slug):
    post = db.session.scalar(select(Post).where(Post.slug == slug))
    assert post is not None, slug
    return post


@pytest.fixture
def export(tmp_path):
    return ghost_export(tmp_path / "ghost.json")


def test_a_ghost_export_is_imported_with_exact_counts(app, export):
    result = _run(app, "import-ghost", str(export))
    assert result.exit_code == 0, result.output + result.stderr
    assert f"{GHOST_EXPECTED.posts} posts" in result.output
    assert f"{GHOST_EXPECTED.pages} pages" in result.output
    assert "status 'sent'" in result.output
    assert "an internal tag (#...)" in result.output
    with app.app_context():
        count = select(func.count()).select_from(Post)
        assert db.session.scalar(count) == GHOST_EXPECTED.posts
        drafts = count.where(Post.status == "draft")
        assert db.session.scalar(drafts) == GHOST_EXPECTED.drafts
        published = count.where(Post.status == "published")
        assert db.session.scalar(published) == GHOST_EXPECTED.published
        assert db.session.scalar(select(func.count(Tag.id))) == GHOST_EXPECTED.tags
        about = db.session.scalar(select(Page).where(Page.slug == "about"))
        assert about is not None
        assert about.body == "The about page."
        assert "<p>The about page.</p>" in about.body_html
        users = db.session.scalars(select(User).order_by(User.username)).all()
        assert [u.username for u in users] == ["kim", "sam", "zoe"]
        assert users[2].bio == "Bio of Zoë Ünal"

        from_mobiledoc = _post("ghost-post-2")
        assert from_mobiledoc.body == "# Heading 2\n\nMarkdown **body** 2."
        from_html = _post("ghost-post-61")
        assert "HTML body 61" in from_html.body
        assert "*ok*" in from_html.body
        assert "alert" not in from_html.body_html
        from_lexical = _post("ghost-post-121")
        assert "## Lexical 121" in from_lexical.body
        assert "**bold**" in from_lexical.body
        assert "[link](https://example.org/)" in from_lexical.body
        assert "- first" in from_lexical.body
        assert "A *markdown* card." in from_lexical.body
        assert "![X](https://ghost.example/content/images/x.png)" in from_lexical.body
        featured = _post("ghost-post-7")
        assert featured.featured_image_url == "https://ghost.example/content/images/7.jpg"
        assert featured.featured_image_id is None
        # Without --media-dir, the old site's own images cannot be found: left out, told so.
        assert _post("ghost-post-14").featured_image_url is None
        assert "/content/images/2019/03/ghost.png" in from_html.body
        unicode = _post("ghost-post-1")
        assert unicode.title == "Ghost ünïcode 😀"
        assert _post("ghost-post-4").summary == "Excerpt 4"
        scheduled = _post("ghost-post-5")
        assert scheduled.published_at.year == 2031
        tagged = db.session.scalars(
            select(Tag.slug).join(Post.tags).where(Post.slug == "ghost-post-6")
        ).all()
        assert tagged == ["cafe"]  # and not the internal #hidden


def _refused(app, path, *expected):
    with app.app_context():
        factories.PostFactory()
        before = row_counts()
    result = _run(app, "import-ghost", str(path))
    assert result.exit_code == 1, result.output
    assert "nothing was imported" in result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr
    with app.app_context():
        assert row_counts() == before


def test_truncated_json_is_refused_with_its_place(app, export, tmp_path):
    cut = tmp_path / "cut.json"
    cut.write_bytes(export.read_bytes()[:5000])
    _refused(app, cut, "cut.json, line 1, column", "not valid JSON")


def test_an_unknown_version_or_layout_is_refused(app, tmp_path):
    _refused(app, ghost_export(tmp_path / "v99.json", version="99.0"), "Ghost version '99.0'")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"posts": []}))
    _refused(app, other, "not a Ghost export")


def test_duplicate_slugs_are_refused(app, tmp_path):
    _refused(
        app,
        ghost_export(tmp_path / "dup.json", duplicate=True),
        "dup.json, posts[1] (post 'Ghost post 2'), field 'slug': duplicate: "
        "slug='ghost-post-1' appears twice",
    )


def test_images_come_from_the_media_dir(app, export, tmp_path):
    folder = tmp_path / "images" / "2019" / "03"
    folder.mkdir(parents=True)
    (folder / "ghost.png").write_bytes(images.png(size=(1000, 600)))
    result = _run(app, "import-ghost", str(export), "--media-dir", str(tmp_path / "images"))
    assert result.exit_code == 0, result.output
    assert "1 media" in result.output
    with app.app_context():
        (picture,) = db.session.scalars(select(Media)).all()
        assert picture.original_name == "ghost.png"
        owner = db.session.get(User, picture.owner_id)
        assert owner.username == "kim"  # the author of the first post that shows it
        assert _post("ghost-post-14").featured_image_id == picture.id
        assert f"](/media/{picture.name})" in _post("ghost-post-61").body
        assert (Path(app.config["MEDIA_FOLDER"]) / picture.name).is_file()
