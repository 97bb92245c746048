"""Blog service rules: slugs, Markdown, permissions and listing without N+1."""

from __future__ import annotations

import pytest

from penpress.accounts import services as accounts
from penpress.blog import services
from penpress.blog.markdown import render_markdown
from penpress.errors import NUL_MESSAGE, Forbidden, Invalid, NotFound
from penpress.extensions import db
from tests.blog.test_paging import sqlite_plan, statements
from tests.conftest import Make, postgres_backend


def test_slugs_are_unique_and_never_empty(ctx, make):
    author = make.user()
    first = services.create_post(author, title="Hello World", body="x")
    second = services.create_post(author, title="Hello, world!", body="x")
    emoji = services.create_post(author, title="🎉🎉", body="x")
    unicode_title = services.create_post(author, title="Привет мир", body="x")
    assert (first.slug, second.slug) == ("hello-world", "hello-world-2")
    assert emoji.slug == "post"
    assert unicode_title.slug == "privet-mir"


def test_a_taken_slug_gets_the_first_free_number_even_past_a_batch_of_them(app, ctx, make):
    author = make.user()
    make.post(author=author, slug="gap")
    make.post(author=author, slug="gap-3")
    assert services.create_post(author, title="Gap", body="x").slug == "gap-2"

    for slug in ["same", *(f"same-{n}" for n in range(2, 52))]:
        make.post(author=author, slug=slug)
    with statements(app) as seen:
        post = services.create_post(author, title="Same", body="x")
    assert post.slug == "same-52"
    lookups = [(s, p) for s, p in seen if s.startswith("SELECT posts.slug")]
    assert len(lookups) == 2  # "same" ... "same-50", then "same-51" ... "same-100"
    if not postgres_backend():
        for statement, parameters in lookups:
            plan = sqlite_plan(statement, parameters)
            assert not [step for step in plan if step.startswith("SCAN")], plan


def test_slug_is_stable_on_edit_unless_asked(ctx, make):
    author = make.user()
    post = services.create_post(author, title="Original", body="x")
    services.update_post(author, post, title="Renamed")
    assert post.slug == "original"
    services.update_post(author, post, title="Renamed again", regenerate_slug=True)
    assert post.slug == "renamed-again"


def test_markdown_is_sanitized():
    html = render_markdown(
        "<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>"
        ' <a href="javascript:alert(2)" onclick="alert(3)">y</a> **bold**'
    )
    assert "<script" not in html
    assert 'href="javascript' not in html
    assert "onerror" not in html
    assert "onclick" not in html
    assert "<strong>bold</strong>" in html


def test_only_author_or_admin_may_edit(ctx, make):
    author, other, admin = make.user(), make.user(), make.user(role_name="admin")
    post = services.create_post(author, title="Mine", body="x")
    with pytest.raises(Forbidden):
        services.update_post(other, post, title="Hijacked")
    services.update_post(admin, post, title="Fixed by admin")
    assert post.title == "Fixed by admin"


def test_drafts_are_hidden_from_others(ctx, make):
    author, other = make.user(), make.user()
    post = services.create_post(author, title="Secret", body="x")
    db.session.commit()
    with pytest.raises(NotFound):
        services.get_post(other, post.slug)
    assert services.get_post(author, post.slug).id == post.id


def test_validation_reports_every_field(ctx, make):
    with pytest.raises(Invalid) as caught:
        services.create_post(make.user(), title=" ", body="")
    assert set(caught.value.details) == {"title", "body"}


def test_list_runs_constant_queries(ctx, make, count_queries):
    for n in range(3):
        make.post(tags=[f"t{n}", "common"])
    with count_queries() as few:
        page = services.list_posts(None, services.PostFilter(), 1, 50)
        _ = [(p.author.username, [t.name for t in p.tags], p.comment_count) for p in page.items]
    for n in range(12):
        make.post(tags=[f"u{n}", "common"])
    db.session.expire_all()
    with count_queries() as many:
        page = services.list_posts(None, services.PostFilter(), 1, 50)
        _ = [(p.author.username, [t.name for t in p.tags], p.comment_count) for p in page.items]
    assert len(page.items) == 15
    assert len(many) == len(few)


# --- bounds every front door relies on ---------------------------------------------------------


def test_services_refuse_nul_in_what_they_store(ctx: None, make: Make) -> None:
    author = make.user(role_name="author")
    with pytest.raises(Invalid) as post_error:
        services.create_post(author, title="a\x00b", body="b\x00", summary="fine")
    assert post_error.value.details == {"title": [NUL_MESSAGE], "body": [NUL_MESSAGE]}
    with pytest.raises(Invalid) as tag_error:
        services.create_post(author, title="Fine", body="Fine", tags=["t\x00"])
    assert tag_error.value.details == {"tags": [NUL_MESSAGE]}
    post = make.post(author=author, published=True)
    with pytest.raises(Invalid) as comment_error:
        services.add_comment(author, db.session.merge(post), "x\x00y")
    assert comment_error.value.details == {"body": [NUL_MESSAGE]}
    with pytest.raises(Invalid) as bio_error:
        accounts.update_profile(author, author, bio="zero\x00byte")
    assert bio_error.value.details == {"bio": [NUL_MESSAGE]}
    with pytest.raises(Invalid) as register_error:
        accounts.register_user(username="nul\x00", email="n@example.com", password="x" * 12)
    assert "username" in register_error.value.details
    assert accounts.find_user_by_email("a\x00@example.com") is None
    db.session.flush()  # nothing half-made is left to store


def test_services_keep_any_page_number_in_range(ctx: None, make: Make) -> None:
    author = make.user(role_name="admin")
    moderator = db.session.merge(author)
    make.post(author=author, published=True)
    huge = 10**30  # an OFFSET far beyond BIGINT: SQLite and PostgreSQL both refuse it
    assert services.list_posts(None, services.PostFilter(), page=huge, per_page=10).items == []
    assert services.pending_comments(moderator, page=huge, per_page=20).items == []
    assert accounts.list_users(None, huge, 50).items == []
    assert services.list_posts(None, services.PostFilter(), page=-5, per_page=10**9).page == 1
    items, total = services.list_posts_window(None, services.PostFilter(), limit=20, offset=huge)
    assert (list(items), total) == ([], 1)
