"""Blog pages through the test client: lists, the post page, writing, editing and deleting."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from penpress.blog.forms import PostForm
from penpress.blog.models import Comment, Favorite, Post, Tag, post_tags
from penpress.errors import Invalid
from penpress.extensions import db
from penpress.forms import apply_errors
from tests.factories import DEFAULT_PASSWORD
from tests.pages import audit_markup, csrf_token, login, older_link


def log_in_as(client: FlaskClient, user, *, csrf: bool = False) -> None:
    assert login(client, user.email, csrf=csrf).status_code == 303, "login failed"


def find_post(app: Flask, **where) -> Post | None:
    with app.app_context():
        return db.session.scalar(select(Post).filter_by(**where))


def post_data(**overrides) -> dict[str, str]:
    data = {
        "title": "A fine title",
        "summary": "What it is about.",
        "body": "Some **Markdown**.",
        "tags": "python, flask",
    }
    data.update(overrides)
    return data


# --- lists --------------------------------------------------------------------------------


def test_index_lists_published_posts_but_not_drafts(client, make):
    make.post(title="Out in the open")
    make.post(title="Still a secret", published=False)
    response = client.get("/blog/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Out in the open" in html
    assert "Still a secret" not in html


def test_index_paginates_and_tolerates_bad_page_numbers(app, client, make):
    author = make.user()
    for n in range(app.config["POSTS_PER_PAGE"] + 2):
        make.post(author=author, title=f"Numbered post {n:02d}")
    first = client.get("/blog/").get_data(as_text=True)
    second = client.get("/blog/?page=2").get_data(as_text=True)
    assert first.count('class="post-card"') == app.config["POSTS_PER_PAGE"]
    assert second.count('class="post-card"') == 2
    older = older_link(first)  # "Older posts" goes by cursor, not by page number
    assert older is not None
    assert older.startswith("/blog/?cursor=")
    assert client.get(older).get_data(as_text=True).count('class="post-card"') == 2
    assert client.get("/blog/?page=abc").status_code == 200
    beyond = client.get("/blog/?page=999")
    assert beyond.status_code == 200
    assert 'class="post-card"' not in beyond.get_data(as_text=True)


def test_the_old_search_address_leads_to_search(client, make):
    make.post(title="Gardening notes", body="Tomatoes need sun.")
    make.post(title="Cooking notes", body="Pasta needs salt.")
    response = client.get("/blog/?q=tomatoes")
    assert response.status_code == 301
    assert response.headers["Location"] == "/search?q=tomatoes"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Gardening notes" in html
    assert "Cooking notes" not in html


def test_post_list_shows_author_tags_and_counts(app, client, make):
    with app.app_context():
        author = make.user(username="writer")
        post = make.post(author=author, title="Counted", tags=["Python"])
        make.comment(post=post, approved=True)
        make.comment(post=post, approved=False)
    html = client.get("/blog/").get_data(as_text=True)
    assert 'href="/blog/author/writer"' in html
    assert 'href="/blog/tag/python"' in html
    assert "1 comment<" in html  # the pending one is not counted
    assert "0 favorites" in html


def test_tag_page_lists_published_posts_with_the_tag(client, make):
    make.post(title="Tagged and public", tags=["Flask"])
    make.post(title="Tagged draft", tags=["Flask"], published=False)
    make.post(title="Other topic", tags=["Django"])
    response = client.get("/blog/tag/flask")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Tagged and public" in html
    assert "Tagged draft" not in html
    assert "Other topic" not in html


def test_unknown_tag_is_404(client):
    assert client.get("/blog/tag/nothing-here").status_code == 404


def test_author_page_shows_profile_and_published_posts(client, make):
    author = make.user(username="ada", bio="Writes about engines.")
    make.post(author=author, title="Analytical engines")
    make.post(author=author, title="Unfinished thoughts", published=False)
    make.post(title="Someone else's post")
    response = client.get("/blog/author/ada")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Writes about engines." in html
    assert "Analytical engines" in html
    assert "Unfinished thoughts" not in html
    assert "Someone else" not in html
    assert "0 followers" in html


def test_unknown_author_is_404(client):
    assert client.get("/blog/author/nobody").status_code == 404


def test_my_posts_needs_login(client):
    response = client.get("/blog/my-posts")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_my_posts_lists_own_drafts_and_posts_only(client, make):
    me = make.user()
    make.post(author=me, title="My public post")
    make.post(author=me, title="My draft", published=False)
    make.post(title="Not mine")
    log_in_as(client, me)
    html = client.get("/blog/my-posts").get_data(as_text=True)
    assert "My public post" in html
    assert "My draft" in html
    assert "Draft</span>" in html
    assert "Not mine" not in html
    assert "0 views" in html  # authors see how often their posts are read


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/blog/create"),
        ("post", "/blog/create"),
        ("get", "/blog/edit/{id}"),
        ("post", "/blog/edit/{id}"),
        ("post", "/blog/delete/{id}"),
        ("get", "/blog/my-posts"),
        ("get", "/blog/feed"),
        ("post", "/blog/post/{slug}/comment"),
        ("post", "/blog/comments/{comment}/delete"),
        ("post", "/blog/post/{slug}/favorite"),
        ("post", "/blog/post/{slug}/unfavorite"),
        ("post", "/blog/author/{author}/follow"),
        ("post", "/blog/author/{author}/unfollow"),
    ],
)
def test_member_pages_send_visitors_to_the_login_page(app, client, make, method, url):
    with app.app_context():
        post = make.post(title="Untouched")
        comment = make.comment(post=post)
    url = url.format(id=post.id, slug=post.slug, comment=comment.id, author=post.author.username)
    response = getattr(client, method)(url, data=post_data(title="Changed", body="Hi"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")
    assert find_post(app, id=post.id).title == "Untouched"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Comment)) == 1


@pytest.mark.parametrize(
    ("url", "back"),
    [
        ("/blog/post/{slug}/comment", "/blog/post/{slug}"),
        ("/blog/post/{slug}/favorite", "/blog/post/{slug}"),
        ("/blog/post/{slug}/unfavorite", "/blog/post/{slug}"),
        ("/blog/author/{author}/follow", "/blog/author/{author}"),
        ("/blog/author/{author}/unfollow", "/blog/author/{author}"),
    ],
)
def test_after_logging_in_visitors_return_to_the_page_of_the_button(client, make, url, back):
    # Not to the button's own URL, which only takes POSTs (a 405 after logging in).
    post = make.post()
    me = make.user()
    names = {"slug": post.slug, "author": post.author.username}
    response = client.post(url.format(**names), data={"body": "Hi"})
    assert response.status_code == 302
    login_page = response.headers["Location"]
    assert "Please log in" in client.get(login_page).get_data(as_text=True)
    response = client.post(login_page, data={"email": me.email, "password": DEFAULT_PASSWORD})
    assert response.headers["Location"] == back.format(**names)
    assert client.get(response.headers["Location"]).status_code == 200


# --- the post page ------------------------------------------------------------------------


def test_post_page_shows_the_post_and_counts_views(app, client, make, flush_views):
    post = make.post(title="Viewed", body="# Heading\n\nText with *emphasis*.", tags=["news"])
    first = client.get(f"/blog/post/{post.slug}")
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    assert "<h1>Heading</h1>" in html
    assert "<em>emphasis</em>" in html
    assert 'href="/blog/tag/news"' in html
    assert f'<link rel="canonical" href="http://localhost/blog/post/{post.slug}">' in html
    assert '<meta property="og:title" content="Viewed">' in html
    client.get(f"/blog/post/{post.slug}")
    assert find_post(app, id=post.id).views == 0  # buffered until the periodic job runs
    assert flush_views() == 2
    assert find_post(app, id=post.id).views == 2


def test_post_page_never_contains_a_script_from_the_body(client, make):
    me = make.user()
    log_in_as(client, me)
    body = (
        "<script>alert('x')</script>\n\n"
        '<img src="x" onerror="alert(1)"> [click](javascript:alert(2)) **safe**'
        ' <a href="javascript:alert(3)">raw link</a>'
    )
    response = client.post("/blog/create", data=post_data(body=body, published="y"))
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<strong>safe</strong>" in html
    assert "alert('x')" not in html
    assert "<script>alert" not in html
    assert "onerror" not in html
    assert 'href="javascript' not in html


def test_missing_post_is_404(client):
    assert client.get("/blog/post/no-such-post").status_code == 404


def test_drafts_are_404_for_visitors_and_other_users(client, make):
    draft = make.post(published=False)
    assert client.get(f"/blog/post/{draft.slug}").status_code == 404
    log_in_as(client, make.user())
    assert client.get(f"/blog/post/{draft.slug}").status_code == 404


def test_drafts_are_visible_to_their_author_and_admins(client, make):
    author = make.user()
    draft = make.post(author=author, published=False, title="Work in progress")
    log_in_as(client, author)
    html = client.get(f"/blog/post/{draft.slug}").get_data(as_text=True)
    assert "Work in progress" in html
    assert "Draft</span>" in html
    assert "Comments open once the post is published." in html
    assert 'name="body"' not in html
    client.post("/auth/logout")
    log_in_as(client, make.user(role_name="admin"))
    assert client.get(f"/blog/post/{draft.slug}").status_code == 200


def test_post_page_offers_edit_and_delete_only_to_those_allowed(client, make):
    author = make.user()
    post = make.post(author=author)
    edit_link = f'href="/blog/edit/{post.id}"'
    assert edit_link not in client.get(f"/blog/post/{post.slug}").get_data(as_text=True)
    log_in_as(client, make.user())
    assert edit_link not in client.get(f"/blog/post/{post.slug}").get_data(as_text=True)
    client.post("/auth/logout")
    log_in_as(client, author)
    html = client.get(f"/blog/post/{post.slug}").get_data(as_text=True)
    assert edit_link in html
    assert f'action="/blog/delete/{post.id}"' in html


# --- writing ------------------------------------------------------------------------------


def test_create_needs_login(client):
    response = client.get("/blog/create")
    assert response.status_code == 302
    assert "/auth/login?next=%2Fblog%2Fcreate" in response.headers["Location"]
    response = client.post("/blog/create", data=post_data())
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_readers_may_not_write(client, make):
    log_in_as(client, make.user(role_name="reader"))
    assert client.get("/blog/create").status_code == 403
    assert client.post("/blog/create", data=post_data()).status_code == 403


def test_create_form_has_the_contract_fields(client, make):
    log_in_as(client, make.user())
    html = client.get("/blog/create").get_data(as_text=True)
    for name in ("title", "summary", "body", "tags", "published"):
        assert f'name="{name}"' in html
    assert 'for="title"' in html  # labelled


def test_create_saves_a_draft_with_tags(app, client, make):
    me = make.user()
    log_in_as(client, me)
    response = client.post("/blog/create", data=post_data(tags="Python, flask, python"))
    assert response.status_code == 303
    assert response.headers["Location"] == "/blog/post/a-fine-title"
    with app.app_context():
        post = db.session.scalar(select(Post).where(Post.slug == "a-fine-title"))
        assert post is not None
        assert post.published is False
        assert post.published_at is None
        assert post.author_id == me.id
        tag_names = db.session.scalars(
            select(Tag.name).join(post_tags).where(post_tags.c.post_id == post.id)
        ).all()
    assert sorted(tag_names) == ["Python", "flask"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Draft saved." in page
    assert "A fine title" not in client.get("/blog/").get_data(as_text=True)


def test_create_published_post_shows_on_the_list(client, make):
    log_in_as(client, make.user())
    response = client.post("/blog/create", data=post_data(published="y"))
    assert response.status_code == 303
    assert "Post published." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert "A fine title" in client.get("/blog/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (post_data(title=""), "Title is required."),
        (post_data(title="   "), "Title is required."),
        (post_data(body=""), "Body is required."),
        (post_data(title="x" * 201), "Title must be at most 200 characters."),
        (post_data(tags="ok, !!!"), "needs at least one letter or digit"),
    ],
)
def test_create_rejects_invalid_posts(app, client, make, data, message):
    log_in_as(client, make.user())
    response = client.post("/blog/create", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert 'aria-invalid="true"' in html
    with app.app_context():
        assert db.session.scalar(select(Post.id)) is None


def test_slugs_are_unique_and_handle_unicode_titles(client, make):
    log_in_as(client, make.user())
    locations = [
        client.post("/blog/create", data=post_data(title=title)).headers["Location"]
        for title in ("Hello World", "Hello, world!", "Привет, мир", "🎉🎉🎉", "🎉")
    ]
    assert locations == [
        "/blog/post/hello-world",
        "/blog/post/hello-world-2",
        "/blog/post/privet-mir",
        "/blog/post/post",
        "/blog/post/post-2",
    ]
    for location in locations:
        assert client.get(location).status_code == 200


# --- editing ------------------------------------------------------------------------------


def test_edit_form_is_prefilled(client, make):
    me = make.user()
    post = make.post(author=me, title="Prefilled", tags=["alpha", "beta"])
    log_in_as(client, me)
    response = client.get(f"/blog/edit/{post.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'value="Prefilled"' in html
    assert 'value="alpha, beta"' in html
    assert 'name="regenerate_slug"' in html


def test_edit_keeps_the_slug_unless_asked(app, client, make):
    me = make.user()
    log_in_as(client, me)
    client.post("/blog/create", data=post_data(title="First title", published="y"))
    post = find_post(app, slug="first-title")
    response = client.post(f"/blog/edit/{post.id}", data=post_data(title="Second title"))
    assert response.status_code == 303
    assert response.headers["Location"] == "/blog/post/first-title"
    edited = find_post(app, id=post.id)
    assert edited.title == "Second title"
    assert edited.published is False  # the box was not ticked this time

    response = client.post(
        f"/blog/edit/{post.id}",
        data=post_data(title="Third title", regenerate_slug="y", published="y"),
    )
    assert response.headers["Location"] == "/blog/post/third-title"
    assert client.get("/blog/post/third-title").status_code == 200
    assert client.get("/blog/post/first-title").status_code == 404


def test_edit_publishes_a_draft(app, client, make):
    me = make.user()
    draft = make.post(author=me, published=False, title="Draft to publish")
    log_in_as(client, me)
    response = client.post(
        f"/blog/edit/{draft.id}", data=post_data(title="Draft to publish", published="y")
    )
    assert response.status_code == 303
    published = find_post(app, id=draft.id)
    assert published.published is True
    assert published.published_at is not None
    assert "Post published." in client.get(response.headers["Location"]).get_data(as_text=True)


def test_edit_rejects_invalid_data(app, client, make):
    me = make.user()
    post = make.post(author=me, title="Untouched")
    log_in_as(client, me)
    response = client.post(f"/blog/edit/{post.id}", data=post_data(title="", body=""))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Title is required." in html
    assert "Body is required." in html
    assert find_post(app, id=post.id).title == "Untouched"


def test_edit_by_another_user_is_403(app, client, make):
    post = make.post(title="Not yours")
    log_in_as(client, make.user())
    assert client.get(f"/blog/edit/{post.id}").status_code == 403
    response = client.post(f"/blog/edit/{post.id}", data=post_data(title="Hijacked"))
    assert response.status_code == 403
    assert find_post(app, id=post.id).title == "Not yours"


def test_admin_may_edit_any_post(app, client, make):
    post = make.post(title="Needs a fix")
    log_in_as(client, make.user(role_name="admin"))
    response = client.post(f"/blog/edit/{post.id}", data=post_data(title="Fixed", published="y"))
    assert response.status_code == 303
    assert find_post(app, id=post.id).title == "Fixed"


def test_edit_missing_post_or_others_draft_is_404(client, make):
    draft = make.post(published=False)
    log_in_as(client, make.user())
    assert client.get("/blog/edit/999999").status_code == 404
    assert client.get(f"/blog/edit/{draft.id}").status_code == 404


def test_edit_needs_login(client, make):
    post = make.post()
    response = client.get(f"/blog/edit/{post.id}")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


# --- deleting -----------------------------------------------------------------------------


def test_author_deletes_a_post_with_its_comments_and_favorites(app, client, make):
    with app.app_context():
        me = make.user()
        post = make.post(author=me)
        make.comment(post=post)
        db.session.add(Favorite(user_id=me.id, post_id=post.id))
        db.session.commit()
    log_in_as(client, me)
    response = client.post(f"/blog/delete/{post.id}")
    assert response.status_code == 303
    assert response.headers["Location"] == "/blog/my-posts"
    assert find_post(app, id=post.id) is None
    assert client.get(f"/blog/post/{post.slug}").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(Comment.id)) is None
        assert db.session.scalar(select(Favorite.post_id)) is None


def test_delete_by_another_user_is_403(app, client, make):
    post = make.post()
    log_in_as(client, make.user())
    assert client.post(f"/blog/delete/{post.id}").status_code == 403
    assert find_post(app, id=post.id) is not None


def test_delete_missing_post_or_others_draft_is_404_and_get_is_405(app, client, make):
    post = make.post()
    draft = make.post(published=False)
    log_in_as(client, make.user())
    assert client.post("/blog/delete/999999").status_code == 404
    assert client.post(f"/blog/delete/{draft.id}").status_code == 404
    assert find_post(app, id=draft.id) is not None
    assert client.get(f"/blog/delete/{post.id}").status_code == 405


def test_delete_needs_login(app, client, make):
    post = make.post()
    response = client.post(f"/blog/delete/{post.id}")
    assert response.status_code == 302
    assert find_post(app, id=post.id) is not None


# --- CSRF ---------------------------------------------------------------------------------


@pytest.fixture
def csrf_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


@pytest.mark.usefixtures("csrf_on")
def test_forms_without_a_csrf_token_are_rejected(app, client, make):
    with app.app_context():
        me = make.user()
        post = make.post(author=me)
        comment = make.comment(post=post, author=me)
        other = make.post()
    log_in_as(client, me, csrf=True)
    for url, data in [
        ("/blog/create", post_data()),
        (f"/blog/edit/{post.id}", post_data(title="Changed")),
        (f"/blog/delete/{post.id}", {}),
        (f"/blog/post/{post.slug}/comment", {"body": "Hi"}),
        (f"/blog/comments/{comment.id}/delete", {}),
        (f"/blog/post/{other.slug}/favorite", {}),
        (f"/blog/author/{other.author.username}/follow", {}),
    ]:
        assert client.post(url, data=data).status_code == 400, url
    assert find_post(app, id=post.id).title == post.title
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Comment)) == 1
        assert db.session.scalar(select(func.count()).select_from(Favorite)) == 0


@pytest.mark.usefixtures("csrf_on")
def test_forms_with_the_page_csrf_token_work(app, client, make):
    me = make.user()
    log_in_as(client, me, csrf=True)
    token = csrf_token(client, "/blog/create")
    response = client.post("/blog/create", data=post_data(csrf_token=token, published="y"))
    assert response.status_code == 303
    post = find_post(app, slug="a-fine-title")
    delete_token = csrf_token(client, response.headers["Location"])
    response = client.post(f"/blog/delete/{post.id}", data={"csrf_token": delete_token})
    assert response.status_code == 303


# --- hostile input ------------------------------------------------------------------------


def test_out_of_range_numbers_in_urls_are_404_not_500(client, make):
    log_in_as(client, make.user(role_name="admin"))
    huge = "9" * 25
    assert client.get(f"/blog/edit/{huge}").status_code == 404
    assert client.post(f"/blog/delete/{huge}").status_code == 404
    assert client.post(f"/blog/comments/{huge}/delete").status_code == 404
    assert client.get("/blog/edit/2147483648").status_code == 404  # past a 32-bit id


@pytest.mark.parametrize("url", ["/blog/", "/blog/my-posts", "/blog/feed", "/blog/tag/t"])
def test_huge_or_odd_page_numbers_are_harmless(client, make, url):
    me = make.user()
    make.post(author=me, tags=["t"])
    log_in_as(client, me)
    for page in ("9" * 25, "-3", "0", "x"):
        assert client.get(f"{url}?page={page}").status_code == 200


def test_head_requests_do_not_count_as_views(app, client, make):
    post = make.post()
    assert client.head(f"/blog/post/{post.slug}").status_code == 200
    assert find_post(app, id=post.id).views == 0


def test_service_errors_without_a_matching_field_show_above_the_form(app):
    with app.test_request_context(method="POST", data={"title": "x"}):
        form = PostForm()
        apply_errors(form, Invalid("Oops", {"title": ["Bad title"], "slug": ["Slug taken"]}))
        apply_errors(form, Invalid("A plain message"))
        assert form.title.errors == ["Bad title"]
        assert form.form_errors == ["Slug taken", "A plain message"]


def test_writing_posts_is_rate_limited(build_app, make):
    limited = build_app(RATELIMIT_ENABLED=True, RATELIMIT_WRITE="1 per minute")
    with limited.app_context():
        me = make.user()
    client = limited.test_client()
    assert login(client, me.email).status_code == 303
    assert client.post("/blog/create", data=post_data()).status_code == 303
    assert client.post("/blog/create", data=post_data()).status_code == 429
    assert client.get("/blog/create").status_code == 200  # reading the form is not limited


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("get", "/blog/post/%00x", None),
        ("get", "/blog/tag/%00", None),
        ("get", "/blog/author/a%00", None),
        ("get", "/blog/?q=a%00b", None),
        ("post", "/blog/create", {"title": "a\x00b", "body": "text"}),
        ("post", "/blog/post/{slug}/comment", {"body": "x\x00y"}),
        ("post", "/blog/post/%00/favorite", None),
        ("post", "/blog/author/%00/follow", None),
    ],
)
def test_nul_characters_are_a_bad_request_not_a_database_error(client, make, method, url, data):
    # PostgreSQL refuses text with NUL characters; without this check it would be a 500 there.
    me = make.user()
    post = make.post(author=me)
    log_in_as(client, me)
    response = getattr(client, method)(url.format(slug=post.slug), data=data)
    assert response.status_code == 400


# --- markup -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/blog/",
        "/search?q=Audited",
        "/blog/post/{slug}",
        "/blog/create",
        "/blog/edit/{id}",
        "/blog/my-posts",
        "/blog/feed",
        "/blog/tag/audit",
        "/blog/author/{author}",
    ],
)
def test_blog_pages_have_valid_ids_labels_and_no_inline_code(app, client, make, path):
    # CSP forbids inline scripts and styles; screen readers need every control labelled.
    with app.app_context():
        author = make.user(image_url="https://example.com/me.png", bio="Bio")
        post = make.post(author=author, title="Audited post", tags=["audit"])
        make.comment(post=post, approved=True)
        make.comment(post=post, approved=False)
        viewer = make.user(role_name="admin")
        make.post(author=viewer, title="Audited draft", published=False, tags=["audit"])
    log_in_as(client, viewer)
    client.post(f"/blog/author/{author.username}/follow")
    client.post(f"/blog/post/{post.slug}/favorite")
    url = path.format(slug=post.slug, id=post.id, author=author.username)
    response = client.get(url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # The page shows the data made above (the empty editor has none of it).
    assert ("Audited" in html) is (path != "/blog/create")
    assert audit_markup(html).inline == []
