"""Full-text search: the index (FTS5 on SQLite, tsvector on PostgreSQL) and /search.

The suite runs on both databases (``make test``; ``PENPRESS_TEST_BACKEND=postgres`` for the
PostgreSQL pass), so every test here checks both indexes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from flask_migrate import upgrade
from sqlalchemy import event, select, text

from penpress.accounts.models import User
from penpress.blog import search, services
from penpress.blog.models import Page, Post
from penpress.blog.services import pages
from penpress.database import MIGRATIONS_DIR, utcnow
from penpress.errors import Invalid
from penpress.extensions import db
from tests.blog.test_paging import sqlite_plan, statements
from tests.conftest import Make, postgres_backend


def found(query: str, viewer: Any = None, page: int = 1) -> list[str]:
    """Slugs of the posts a search finds, in order."""
    return [hit.post.slug for hit in services.search_posts(viewer, query, page).hits]


def assert_index_in_step() -> None:
    """SQLite: each FTS5 index holds exactly the words of its content, the ``posts`` rows
    (FTS5's check against the external content, ``rank`` 1; without it the check looks only
    at the index's own structure). PostgreSQL's vector is a generated column: nothing to
    check."""
    if db.engine.dialect.name != "sqlite":
        return
    for fts in search.FTS_TABLES:
        db.session.execute(
            text(f"INSERT INTO {fts.name}({fts.name}, rank) VALUES ('integrity-check', 1)")  # noqa: S608
        )


def write(author: Any, title: str, body: str = "Nothing much.", **fields: Any) -> Post:
    fields.setdefault("published", True)
    post = services.create_post(author, title=title, body=body, **fields)
    db.session.commit()
    return post


def test_finds_words_in_title_summary_body_and_tags_stemmed(ctx, make: Make):
    author = make.user()
    write(author, "About gardens", body="We planted tomatoes under glass.")
    write(author, "Kitchen notes", summary="Why sourdough rises", body="Flour and water.")
    write(author, "Untitled", body="Nothing here.", tags=["Astronomy"])
    write(author, "Other", body="Nothing to see.")
    assert found("tomatoes") == ["about-gardens"]
    assert found("tomato") == ["about-gardens"]  # stemmed
    assert found("planting TOMATOES") == ["about-gardens"]  # every word, any case
    assert found("sourdough") == ["kitchen-notes"]
    assert found("astronomy") == ["untitled"]
    assert found("tomatoes sourdough") == []  # every word must match


def test_title_matches_come_first(ctx, make: Make):
    author = make.user()
    write(author, "Mentions in the body", body="kayak " * 30, summary="kayak kayak")
    write(author, "Kayak trips", body="A short text.")
    write(author, "Once more in the body", body="We took the kayak out.")
    results = found("kayak")
    assert results[0] == "kayak-trips"
    assert set(results) == {"kayak-trips", "mentions-in-the-body", "once-more-in-the-body"}


def test_drafts_and_scheduled_posts_are_never_found(ctx, make: Make):
    author = make.user()
    editor = make.user(role_name="editor")
    write(author, "Draft about walruses", published=False)
    scheduled = write(author, "Future walruses")
    scheduled.published_at = utcnow() + timedelta(hours=2)
    db.session.commit()
    write(author, "Published walruses")
    for viewer in (None, author, editor):
        assert found("walruses", viewer) == ["published-walruses"]
    scheduled.published_at = utcnow() - timedelta(minutes=1)  # its time has come
    db.session.commit()
    assert set(found("walruses")) == {"published-walruses", "future-walruses"}


def test_follows_publishing_edits_tags_and_deletes(ctx, make: Make):
    author = make.user()
    editor = make.user(role_name="editor")
    post = write(author, "Trains", body="Steam engines.", published=False, tags=["rail"])
    assert found("steam") == []
    services.update_post(author, post, published=True)
    db.session.commit()
    assert found("steam") == ["trains"]

    services.update_post(author, post, title="Locomotives", body="Diesel engines.")
    db.session.commit()
    assert found("steam") == []
    assert found("trains") == []
    assert found("diesel") == ["trains"]
    assert found("locomotives") == ["trains"]

    services.update_post(author, post, tags=["railway", "history"])
    db.session.commit()
    assert found("rail") == []
    assert found("history") == ["trains"]
    services.rename_tag(editor, "history", "heritage")
    db.session.commit()
    assert found("history") == []
    assert found("heritage") == ["trains"]
    services.delete_tag(editor, "heritage")
    db.session.commit()
    assert found("heritage") == []
    assert found("railway") == ["trains"]

    services.update_post(author, post, published=False)
    db.session.commit()
    assert found("diesel") == []
    services.update_post(author, post, published=True)
    services.delete_post(author, post)
    db.session.commit()
    assert found("diesel") == []


def test_excerpts_read_as_text_not_markdown(ctx, make: Make):
    author = make.user()
    write(
        author,
        "A day out",
        body=(
            "## Watching otters\n\nOn snake_case_street we saw **sea otters** and _river "
            'otters_ from the [otters\' bridge](https://example.com/bridge "The bridge") '
            "with `binoculars`[^1].\n\n- one otters list item\n> a quoted line\n\n"
            "[^1]: Borrowed."
        ),
    )
    (hit,) = services.search_posts(None, "otters").hits
    text = re.sub(r"</?mark>", "", str(hit.excerpt))
    # (The excerpt may end inside the link: PostgreSQL's ts_headline cuts by words.)
    for markup in ("##", "**", "_river", "otters_", "[", "](", "https://", "`", "> a"):
        assert markup not in text, (markup, text)
    assert "sea otters" in text.lower()
    assert "snake_case_street" in text  # words' own underscores stay
    assert "<mark>" in str(hit.excerpt)


@pytest.mark.parametrize(
    ("markdown", "plain"),
    [
        (
            "Some **bold**, *em*, ***both***, ~~struck~~ and `code`.",
            "Some bold, em, both, struck and code.",
        ),
        (
            "See [the \x02docs\x03](https://x.test/a_b) and ![a map](/m.png).",
            "See the \x02docs\x03 and a map.",
        ),
        ("# Title\n## Sub\n> quote\n- item\n1. first", "Title Sub quote item first"),
        ("| a | b |\n|---|:-:|\n| 1 | 2 |\n\n---\nafter", "a b 1 2 after"),
        (
            "snake_case and __strong__ and <https://x.test> and <em>tag</em>",
            "snake_case and strong and https://x.test and tag",
        ),
        ("A note[^n] and a ref [link][1].", "A note and a ref link."),
        ("cut inside [a link](https://x.te", "cut inside a link"),
        ("cut before its end [a li", "cut before its end a li"),
    ],
)
def test_plain_excerpt_takes_out_markdown(markdown: str, plain: str) -> None:
    assert search.plain_excerpt(markdown) == plain


def test_snippets_escape_the_text_then_mark_the_matches(ctx, make: Make):
    author = make.user()
    write(
        author,
        "<b>Bold</b> otters",
        summary='otters "quoted" & <i>friends</i>',
        body="Sea otters <script>alert(1)</script> \x02sleep\x03 holding hands.",
    )
    (hit,) = services.search_posts(None, "otters").hits
    assert str(hit.title) == "&lt;b&gt;Bold&lt;/b&gt; <mark>otters</mark>"
    assert "<mark>otters</mark>" in hit.summary
    assert "&lt;i&gt;friends&lt;/i&gt;" in hit.summary
    assert "&amp;" in hit.summary
    # Escaped (SQLite's snippet keeps the text as written) or dropped (PostgreSQL's
    # ts_headline leaves HTML tags out of excerpts), never markup.
    assert "alert(1)" in hit.excerpt
    assert "&lt;script&gt;" in hit.excerpt or "script" not in hit.excerpt
    assert "<mark>otters</mark>" in hit.excerpt
    for html in (hit.title, hit.summary, hit.excerpt):
        assert "<script" not in html
        assert "<b>" not in html
        assert "<i>" not in html
        assert html.count("<mark>") == html.count("</mark>")
        assert "\x02" not in html
        assert "\x03" not in html


def test_marked_is_balanced_whatever_the_marks():
    assert search.marked("a \x02b\x03 <c>") == "a <mark>b</mark> &lt;c&gt;"
    assert search.marked("\x03x\x02y\x02z") == "x<mark>yz</mark>"
    assert search.marked(None) == ""


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"unbalanced',
        "*",
        "otter*",
        "NEAR(otters sea)",
        "NEAR(",
        "-otters",
        "title:otters",
        "otters:",
        "{title}: x",
        "AND OR NOT",
        "a & b | !c <-> d",
        "(((",
        "'; DROP TABLE posts; --",
        "^otters",
        "😀 otters",
    ],
)
def test_query_syntax_is_only_words(ctx, make: Make, query: str):
    author = make.user()
    write(author, "Sea otters", body="They hold hands.")
    results = services.search_posts(None, query)
    words = set(search.terms(query))
    expected = ["sea-otters"] if words and words <= {"sea", "otters", "title"} else []
    if words <= {"sea", "otters"}:
        assert [hit.post.slug for hit in results.hits] == expected


def test_terms_are_words_only():
    assert search.terms('"NEAR(a* -b:c)" a') == ["near", "a", "b", "c"]
    assert search.terms("snake_case x") == ["snake", "case", "x"]
    assert search.terms('*:-"()') == []
    assert len(search.terms(" ".join(f"w{n}" for n in range(50)))) == search.MAX_TERMS


def test_empty_long_and_wordless_queries(ctx, make: Make):
    make.post(title="Anything")
    assert services.search_posts(None, "").hits == []
    assert services.search_posts(None, '  -*" ').words == []
    with pytest.raises(Invalid):
        services.search_posts(None, "x" * (services.SEARCH_QUERY_MAX_LENGTH + 1))


def test_pages_are_bounded(ctx, make: Make):
    author = make.user()
    for n in range(25):
        write(author, f"Heron sighting {n}")
    first = services.search_posts(None, "heron", 1, per_page=10)
    third = services.search_posts(None, "heron", 3, per_page=10)
    assert len(first.hits) == 10
    assert first.has_next
    assert not first.has_prev
    assert len(third.hits) == 5
    assert not third.has_next
    assert third.has_prev
    seen = [h.post.id for p in (1, 2, 3) for h in services.search_posts(None, "heron", p).hits]
    assert len(set(seen)) == 25
    deep = services.search_posts(None, "heron", services.SEARCH_MAX_PAGE + 1)
    assert deep.too_deep
    assert deep.hits == []


def test_query_count_is_bounded(ctx, make: Make, count_queries):
    author = make.user()
    for n in range(12):
        write(author, f"Puffin {n}", tags=[f"bird{n}", "sea"])
    db.session.expire_all()
    with count_queries() as one_hit:
        services.search_posts(None, "puffin 3")
    db.session.expire_all()
    with count_queries() as many_hits:
        results = services.search_posts(None, "puffin")
        for hit in results.hits:  # everything the page shows is loaded
            _ = (hit.post.author.username, [t.name for t in hit.post.tags], hit.post.comment_count)
    assert len(results.hits) == 10
    if not postgres_backend():
        assert len(many_hits) == len(one_hit) <= 3  # ids, posts with authors, tags
        return
    # PostgreSQL finds the windows in steps (search._ts_ranked_ids), so the count depends on
    # the words, never on the hits: at most the newest id, an estimate per window, the planner
    # setting set and put back, three statements per window; then the same three.
    bound = 1 + 2 + 2 + 2 * 3 + 3
    assert len(one_hit) <= bound
    assert len(many_hits) <= bound


def test_existing_rows_are_indexed_whatever_wrote_them(ctx, make: Make):
    """Rows written with plain SQL (the bulk seeder, a restore) are in the index too: the
    database keeps it (triggers on SQLite, a generated column on PostgreSQL)."""
    author = make.user()
    now = utcnow()
    db.session.execute(
        text(
            "INSERT INTO posts (title, slug, summary, body, body_html, published, published_at,"
            " status, created_at, updated_at, views, author_id, search_tags) VALUES ('Raw',"
            " 'raw', '', 'Written by narwhals', '', :t, :now, 'published', :now, :now, 0, :a,"
            " 'cetaceans')"
        ),
        {"t": True, "now": now, "a": author.id},
    )
    db.session.commit()
    assert found("narwhals") == ["raw"]
    assert found("cetaceans") == ["raw"]
    db.session.execute(text("UPDATE posts SET body = 'Written by belugas' WHERE slug = 'raw'"))
    db.session.commit()
    assert found("narwhals") == []
    assert found("belugas") == ["raw"]
    db.session.execute(text("DELETE FROM posts WHERE slug = 'raw'"))
    db.session.commit()
    assert found("belugas") == []
    assert db.session.scalar(select(Post.id).where(Post.slug == "raw")) is None


def test_title_matches_follow_every_title_change_whatever_writes_it(ctx, make: Make):
    """Which posts hold the words in their title comes from an index of the titles alone on
    SQLite: it follows edits through the services and raw SQL, and deletes."""
    author = make.user()
    dusk = write(author, "Otters at dusk", body="Otters by the river.")
    evening = write(author, "Evening notes", body="otters " * 20)
    assert found("otters") == ["otters-at-dusk", "evening-notes"]
    services.update_post(author, evening, title="Otters everywhere")
    db.session.execute(text("UPDATE posts SET title = 'A walk' WHERE id = :id"), {"id": dusk.id})
    db.session.commit()
    assert found("otters") == ["evening-notes", "otters-at-dusk"]  # slugs stay
    assert_index_in_step()
    db.session.execute(text("DELETE FROM posts WHERE id = :id"), {"id": evening.id})
    db.session.commit()
    assert found("otters") == ["otters-at-dusk"]
    assert found("walk") == ["otters-at-dusk"]
    assert_index_in_step()


# --- the pages ----------------------------------------------------------------------------


def test_search_page_shows_ranked_highlighted_results(client, make: Make):
    author = make.user(username="writer")
    make.post(title="Ferns in <em>shade</em>", body="Ferns like shade.", author=author)
    make.post(
        title="Moss",
        body="Moss grows near ferns.",
        author=author,
        featured_image_url="https://images.example.com/moss.jpg",
        featured_image_alt="Moss on a stone",
    )
    response = client.get("/search?q=ferns")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    first = html.index("<mark>Ferns</mark> in &lt;em&gt;shade&lt;/em&gt;")
    assert first < html.index("Moss grows near")
    assert "<em>shade</em>" not in html
    assert 'value="ferns"' in html
    assert 'name="robots" content="noindex"' in html
    assert '<img src="https://images.example.com/moss.jpg" alt="Moss on a stone"' in html


@pytest.mark.parametrize(
    "query", ['"', "*", "NEAR(", "-", ":", "a:b", "title:x", "((", "'", "\\", "%", "_", "?"]
)
def test_search_page_answers_any_syntax_cleanly(client, make: Make, query: str):
    make.post(title="Anything at all")
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200


def test_search_page_empty_long_and_deep(client, make: Make):
    make.post(title="Anything at all")
    empty = client.get("/search")
    assert empty.status_code == 200
    assert "Type words" in empty.get_data(as_text=True)
    too_long = client.get("/search", query_string={"q": "x" * 201})
    assert too_long.status_code == 422
    assert "at most 200 characters" in too_long.get_data(as_text=True)
    deep = client.get("/search", query_string={"q": "anything", "page": 999})
    assert deep.status_code == 200
    assert "first 200 matches" in deep.get_data(as_text=True)
    odd_page = client.get("/search", query_string={"q": "anything", "page": "x"})
    assert odd_page.status_code == 200


@pytest.mark.parametrize("path", ["/", "/blog/", "/about", "/auth/login", "/search?q=x", "/nope"])
def test_every_page_has_the_labelled_search_box(client, make: Make, path: str):
    make.post(title="Anything at all")
    html = client.get(path).get_data(as_text=True)
    assert '<form class="site-search" role="search" method="get" action="/search">' in html
    assert '<label class="visually-hidden" for="site-search-q">Search the site</label>' in html
    assert 'id="site-search-q" type="search" name="q"' in html


# --- /api/v1/posts?q= ---------------------------------------------------------------------


def test_api_q_uses_the_index(client, make: Make):
    author = make.user(username="writer")
    make.post(title="Gulls", body="They steal chips.", tags=["seaside"], author=author)
    make.post(title="Draft gulls", body="chips", published=False, author=author)
    make.post(title="Other", body="Nothing.", author=author)

    def titles(**query: Any) -> list[str]:
        response = client.get("/api/v1/posts", query_string=query)
        assert response.status_code == 200
        return [post["title"] for post in response.get_json()["posts"]]

    assert titles(q="stealing chip") == ["Gulls"]  # stemmed, every word, in the body
    assert titles(q="SEASIDE") == ["Gulls"]  # tags
    assert titles(q='"chips" NEAR( -*:') == []  # "near" is a word; the rest punctuation
    assert titles(q='"*:-') == []  # no words: nothing, not everything
    assert titles(q="chips", author="writer", drafts="true") == ["Gulls"]  # not signed in
    too_long = client.get("/api/v1/posts", query_string={"q": "x" * 201})
    assert too_long.status_code == 422
    assert "q" in too_long.get_json()["error"]["details"]


def test_api_q_is_documented(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    parameters = spec["paths"]["/api/v1/posts"]["get"]["parameters"]
    (q,) = [p for p in parameters if p.get("name") == "q"]
    assert "full-text index" in q["description"]
    assert q["schema"]["maxLength"] == 200


# --- the schema ---------------------------------------------------------------------------


def test_the_migrated_schema_keeps_the_index_in_step(ctx):
    """The index's own schema is there after every migration (a later migration rebuilding
    ``posts`` on SQLite would drop the triggers: this fails then)."""
    if db.engine.dialect.name == "postgresql":
        generated = db.session.scalar(
            text(
                "SELECT is_generated FROM information_schema.columns"
                " WHERE table_name = 'posts' AND column_name = 'search_vector'"
            )
        )
        index = db.session.scalar(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_posts_search_vector'")
        )
        assert generated == "ALWAYS"
        assert "gin (search_vector)" in index
    else:
        triggers = set(
            db.session.scalars(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'posts'")
            )
        )
        assert {
            f"{fts.name}_after_{change}"
            for fts in search.FTS_TABLES
            for change in ("insert", "update", "delete")
        } <= triggers
        # The indexes agree with the rows (FTS5's own consistency check raises if not).
        assert_index_in_step()


def test_hidden_posts_ranked_first_do_not_hide_visible_ones(ctx, make: Make):
    """On SQLite the best candidates are ranked in the index before their rows are read;
    when drafts fill those places the search looks further (and pages stay exact)."""
    author = make.user()
    for n in range(30):
        write(author, f"Ibis ibis draft {n}", body="ibis " * 5, published=False)
    for n in range(3):
        write(author, f"Wading birds {n}", body="An ibis wades.")
    pages = [services.search_posts(None, "ibis", page, per_page=1) for page in (1, 2, 3, 4)]
    assert [[h.post.title for h in p.hits] for p in pages] == [
        ["Wading birds 2"],
        ["Wading birds 1"],
        ["Wading birds 0"],
        [],
    ]
    assert [p.has_next for p in pages] == [True, True, False, False]


# --- the window: only the newest matches are ranked -------------------------------------


def test_only_the_newest_matches_are_ranked(app, ctx, make: Make, monkeypatch):
    author = make.user()
    write(author, "Old favourite", summary="heron heron", body="heron " * 20, tags=["heron"])
    write(author, "First newer", body="A heron. " + "Other words here. " * 10)
    write(author, "Strong newer", summary="The heron", body="heron heron heron")
    write(author, "Newest", body="A heron. " + "Other words here. " * 10)
    # Fewer matches than the window: every match ranked, the most relevant first.
    assert found("heron") == ["old-favourite", "strong-newer", "newest", "first-newer"]
    monkeypatch.setitem(app.config, "SEARCH_RANK_WINDOW", 3)
    # The older, more relevant post is outside the window; inside it relevance still wins.
    assert found("heron") == ["strong-newer", "newest", "first-newer"]
    first = services.search_posts(None, "heron", 1, per_page=2)
    second = services.search_posts(None, "heron", 2, per_page=2)
    assert [len(first.hits), first.has_next, len(second.hits), second.has_next] == [2, 1, 1, 0]


def test_title_matches_have_a_window_of_their_own(app, ctx, make: Make, monkeypatch):
    """An old post is still found by its title (the newest title matches are ranked however
    many newer posts mention the words), and that window is bounded too."""
    author = make.user()
    write(author, "Puffin colonies")
    write(author, "Puffin season")
    write(author, "Puffin census")
    for n in range(3):
        write(author, f"Seabirds {n}", body="A puffin flew over.")
    monkeypatch.setitem(app.config, "SEARCH_RANK_WINDOW", 2)
    assert found("puffin") == ["puffin-census", "puffin-season", "seabirds-2", "seabirds-1"]
    monkeypatch.setitem(app.config, "SEARCH_RANK_WINDOW", 4)
    assert found("puffin") == [
        "puffin-census",
        "puffin-season",
        "puffin-colonies",
        "seabirds-2",
        "seabirds-1",
        "seabirds-0",
    ]


def test_the_window_counts_posts_readers_cannot_see_yet(app, ctx, make: Make, monkeypatch):
    """The window is cut in the index, which knows nothing of who may see a post: newer
    drafts take places in it, alike on SQLite and PostgreSQL."""
    author = make.user()
    write(author, "Shorebirds", body="An avocet.")
    for n in range(2):
        write(author, f"Draft {n}", body="An avocet.", published=False)
    monkeypatch.setitem(app.config, "SEARCH_RANK_WINDOW", 2)
    assert found("avocet") == []
    monkeypatch.setitem(app.config, "SEARCH_RANK_WINDOW", 3)
    assert found("avocet") == ["shorebirds"]


def ranking_statement(app: Any, query: str) -> tuple[str, Any]:
    """The statement that ranks a search (run once, recorded)."""
    with statements(app) as seen:
        services.search_posts(None, query)
    return next((s, p) for s, p in seen if "bm25" in s or "ts_rank" in s)


@pytest.mark.skipif(postgres_backend(), reason="SQLite's planner; PostgreSQL's has its own test")
@pytest.mark.skip_allowed_in_ci(reason="SQLite's planner; PostgreSQL's plans have their own test")
def test_sqlite_ranks_a_window_read_from_the_index(app, ctx, make: Make, monkeypatch):
    author = make.user()
    for n in range(6):
        write(author, f"Egret {n}" if n % 2 else f"Wader {n}", body="An egret.")
    monkeypatch.setitem(app.config, "SEARCH_RANK_WINDOW", 3)
    plan = sqlite_plan(*ranking_statement(app, "egret"))
    fts_steps = [step for step in plan if "posts_fts VIRTUAL TABLE" in step]
    title_steps = [step for step in plan if "posts_title_fts VIRTUAL TABLE" in step]
    # FTS5 tells its plan as "INDEX <flags>:<constraints>": the window's cut-off and the
    # newest title matches (in the titles' own index) are read backwards by rowid (flags
    # 64 | 128), stopping at the window's size; the ranked scan has a lower rowid bound
    # (">"), served by the index.
    backwards = [step for step in fts_steps if "VIRTUAL TABLE INDEX 192:" in step]
    bounded = [step for step in fts_steps if re.search(r"INDEX 0:M\d+>$", step)]
    assert (len(backwards), len(bounded), len(fts_steps)) == (1, 1, 2), plan
    assert [step for step in title_steps if "VIRTUAL TABLE INDEX 192:" in step] == title_steps
    assert len(title_steps) == 1, plan
    assert not [step for step in plan if step.startswith("SCAN posts ")], plan


def bulk_posts(author_id: int, count: int, title_sql: str, body_sql: str) -> None:
    """PostgreSQL: ``count`` published posts in one statement, ``n`` their number (the
    newest is 1), then what autovacuum does on a live site: new rows leave GIN's pending
    list, and statistics."""
    db.session.execute(
        text(
            "INSERT INTO posts (title, slug, summary, body, body_html, published, published_at,"  # noqa: S608
            f" status, created_at, updated_at, views, author_id, search_tags) SELECT {title_sql},"
            f" 'bulk-' || n, '', {body_sql}, '', true, now() - n * interval '1 minute',"
            " 'published', now(), now(), 0, :author, ''"
            " FROM generate_series(:count, 1, -1) AS n"
        ),
        {"author": author_id, "count": count},
    )
    db.session.commit()
    for index in (search.VECTOR_INDEX, search.TITLE_VECTOR_INDEX):
        clean = text("SELECT gin_clean_pending_list(CAST(:index AS regclass))")
        db.session.execute(clean, {"index": index})
    db.session.execute(text("ANALYZE posts"))
    db.session.commit()


@contextmanager
def plans_as_run(app: Any) -> Iterator[list[tuple[str, str]]]:
    """Each statement with the plan PostgreSQL made for it, explained just before it ran, in
    its transaction (with the planner settings it ran under)."""
    seen: list[tuple[str, str]] = []

    def explain(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM posts" in statement:
            other = cursor.connection.cursor()
            other.execute("EXPLAIN " + statement, parameters)
            seen.append((statement, "\n".join(str(row[0]) for row in other.fetchall())))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", explain)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", explain)


@pytest.mark.postgres
@pytest.mark.skipif(not postgres_backend(), reason="runs on the PostgreSQL pass")
def test_postgres_finds_the_windows_without_reading_every_match(app, ctx, make: Make, monkeypatch):
    """20,000 posts and a window of 40: the proportions of a million posts and the default
    window, which the planner weighs alike. A word in 5% of the posts: the newest ids' range
    AND the word's bitmap, never the row of every match; a word in nearly every post: the
    newest posts walked; ranking: only the candidates, by id."""
    monkeypatch.setitem(app.config, "SEARCH_RANK_WINDOW", 40)
    author = make.user()
    bulk_posts(
        author.id,
        20_000,
        "CASE WHEN n % 2000 = 0 THEN 'Egret ' ELSE 'Wader ' END || n",
        "CASE WHEN n % 20 = 0 THEN 'An egret and a heron.' ELSE 'A heron.' END",
    )
    with plans_as_run(app) as seen:
        assert len(services.search_posts(None, "egret").hits) == 10
    windows = [plan for statement, plan in seen if "LIMIT" in statement and "ANY" not in statement]
    body, title = (
        [plan for plan in windows if "ix_posts_search_vector" in plan],
        [plan for plan in windows if "ix_posts_title_vector" in plan],
    )
    assert body, seen
    assert title, seen
    assert "BitmapAnd" in body[0], body[0]  # the range's ids AND the word's: their rows only
    assert "pk_posts" in body[0], body[0]
    ranking = next(plan for statement, plan in seen if "ts_rank" in statement)
    assert "pk_posts" in ranking, ranking
    assert not [plan for _, plan in seen if "Seq Scan on posts" in plan], seen

    with plans_as_run(app) as seen:
        assert len(services.search_posts(None, "heron").hits) == 10
    walked = [plan for statement, plan in seen if "search_vector @@" in statement][0]
    assert "Index Scan Backward using pk_posts" in walked, walked  # stops at the window
    db.session.rollback()


@pytest.mark.postgres
@pytest.mark.skipif(not postgres_backend(), reason="runs on the PostgreSQL pass")
def test_postgres_windows_are_the_newest_matches_either_way(ctx, make: Make):
    """Walked or found by widening id ranges, a window is exactly the newest matches: a gap
    of many posts without the word between two runs of it is crossed."""
    author = make.user()
    # Numbered 1 (newest) to 400: the word in 1-3 and 300-310, nowhere between.
    bulk_posts(
        author.id,
        400,
        "'Post ' || n",
        "CASE WHEN n <= 3 OR n BETWEEN 300 AND 310 THEN 'A kestrel.' ELSE 'A wren.' END",
    )
    ids = dict(db.session.execute(text("SELECT slug, id FROM posts")).all())
    newest_id = max(ids.values())
    kestrel, nightjar = search.matches(["kestrel"]), search.matches(["nightjar"])
    six = [ids[f"bulk-{n}"] for n in (1, 2, 3, 300, 301, 302)]
    all_of_them = [ids[f"bulk-{n}"] for n in (1, 2, 3, *range(300, 311))]
    assert search._walked(kestrel, 6) == six
    assert search._walked(kestrel, 50) == all_of_them
    with search._bitmap_scans_only(restore="on"):
        # From a first range of 10 ids (a share of 0.5): 3 found, then 42 ids, then all.
        assert search._newest_in_id_ranges(kestrel, 4, newest_id, 0.5) == six[:4]
        assert search._newest_in_id_ranges(kestrel, 6, newest_id, 0.5) == six
        assert search._newest_in_id_ranges(kestrel, 50, newest_id, 0.5) == all_of_them
        assert search._newest_in_id_ranges(kestrel, 6, newest_id, 0.01) == six  # all at once
        assert search._newest_in_id_ranges(nightjar, 6, newest_id, 0.5) == []
    # The planner's setting is back as it was, for whatever the request does next.
    assert db.session.scalar(text("SELECT current_setting('enable_indexscan')")) == "on"


# --- static pages ---------------------------------------------------------------------------


def a_page(title: str, body: str, *, published: bool = True) -> Page:
    admin = db.session.scalar(select(User).where(User.username == "pageadmin"))
    page = pages.create_page(admin, title=title, body=body, published=published)
    db.session.commit()
    return page


def page_slugs(query: str) -> list[str]:
    return [hit.page.slug for hit in services.search_pages(None, query)]


@pytest.fixture
def pageadmin(make: Make) -> Any:
    return make.user(username="pageadmin", role_name="admin")


def test_finds_published_pages_by_title_and_text_never_drafts(ctx, make: Make, pageadmin):
    a_page("Contact us", "Write to the **editorial** desk in Lisbon.")
    a_page("Editorial policy", "How we choose what to publish.")
    a_page("Secret plans", "The editorial desk moves to Porto.", published=False)
    assert page_slugs("lisbon") == ["contact-us"]
    assert page_slugs("EDITORIAL") == ["editorial-policy", "contact-us"]  # title matches first
    assert page_slugs("editorial desk") == ["contact-us"]  # every word must match
    assert page_slugs("porto") == []  # a draft, whoever asks
    admin_sees = [hit.page.slug for hit in services.search_pages(pageadmin, "porto")]
    assert admin_sees == []
    assert page_slugs("") == []
    assert page_slugs('% _ "') == []  # LIKE's wildcards are not words, nor matched as such
    with pytest.raises(Invalid):
        services.search_pages(None, "x" * (services.SEARCH_QUERY_MAX_LENGTH + 1))


def test_page_hits_are_escaped_and_marked(ctx, make: Make, pageadmin):
    a_page(
        "Kayak <b>rental</b>", "Long text. " * 40 + "Rent a *kayak* by the hour. " + "More. " * 40
    )
    (hit,) = services.search_pages(None, "kayak")
    assert str(hit.title) == "<mark>Kayak</mark> &lt;b&gt;rental&lt;/b&gt;"
    assert "Rent a <mark>kayak</mark> by the hour." in str(hit.excerpt)
    assert str(hit.excerpt).startswith("…")  # cut around the match, not the page's start
    assert "<em>" not in str(hit.excerpt)  # the text of the rendering, not its markup
    a_page("Rowing club", "Meet on Sundays.")
    (title_only,) = services.search_pages(None, "club")
    assert str(title_only.excerpt) == "Meet on Sundays."  # its start, whole, unmarked


def test_page_search_follows_edits_and_deletes(ctx, make: Make, pageadmin):
    page = a_page("Opening hours", "Open on Mondays.")
    assert page_slugs("mondays") == ["opening-hours"]
    pages.update_page(pageadmin, page, body="Open on Tuesdays.")
    db.session.commit()
    assert page_slugs("mondays") == []
    assert page_slugs("tuesdays") == ["opening-hours"]
    pages.update_page(pageadmin, page, published=False)
    db.session.commit()
    assert page_slugs("tuesdays") == []
    pages.update_page(pageadmin, page, published=True)
    db.session.commit()
    pages.delete_page(pageadmin, page)
    db.session.commit()
    assert page_slugs("tuesdays") == []


def test_page_search_is_one_bounded_query(ctx, make: Make, pageadmin, count_queries):
    for n in range(services.SEARCH_PAGE_HITS + 3):
        a_page(f"Harbour notes {n}", "About the harbour.")
    db.session.expire_all()
    with count_queries() as queries:
        hits = services.search_pages(None, "harbour")
    assert len(hits) == services.SEARCH_PAGE_HITS
    assert len(queries) == 1


def test_search_page_lists_pages_as_such_and_the_api_stays_posts_only(
    client, make: Make, pageadmin
):
    make.post(title="Lighthouse keepers", body="A post about the lighthouse.")
    with client.application.app_context():
        a_page("Visiting the lighthouse", "Tours start at noon.")
        a_page("Lighthouse draft", "Not yet.", published=False)
    html = client.get("/search?q=lighthouse").get_data(as_text=True)
    pages_part = html[html.index('id="search-pages-title"') : html.index("search-posts-title")]
    assert 'href="/visiting-the-lighthouse"' in pages_part
    assert ">Page<" in pages_part
    assert "Lighthouse draft" not in html
    assert "<mark>Lighthouse</mark> keepers" in html[html.index("search-posts-title") :]
    assert "search-pages-title" not in client.get("/search?q=lighthouse&page=2").get_data(
        as_text=True
    )
    only_page = client.get("/search?q=noon").get_data(as_text=True)
    assert 'href="/visiting-the-lighthouse"' in only_page
    assert "No posts match your search." in only_page
    api = client.get("/api/v1/posts?q=lighthouse").get_json()
    assert [item["title"] for item in api["posts"]] == ["Lighthouse keepers"]


def test_a_page_published_later_is_found_by_anonymous_readers_at_once(
    client, make: Make, pageadmin
):
    """Anonymous searches come from the page cache: publishing a page must drop it."""
    with client.application.app_context():
        page = a_page("Ferry timetable", "Boats leave hourly.", published=False)
    assert "ferry-timetable" not in client.get("/search?q=ferry").get_data(as_text=True)
    with client.application.app_context():
        admin = db.session.scalar(select(User).where(User.username == "pageadmin"))
        pages.update_page(admin, db.session.get(Page, page.id), published=True)
        db.session.commit()
    assert 'href="/ferry-timetable"' in client.get("/search?q=ferry").get_data(as_text=True)


def test_searches_that_run_share_one_limit_per_client(app: Any, build_app: Any) -> None:
    """``RATELIMIT_SEARCH``: the site's search and the API's ``?q=`` spend one budget; a list
    without words, and a search answered from the page cache, spend nothing."""
    app = build_app(schema=False, RATELIMIT_ENABLED=True, RATELIMIT_SEARCH="3 per minute")
    with app.app_context():  # the search index is made by the migrations
        upgrade(directory=str(MIGRATIONS_DIR))
    client = app.test_client()
    for _ in range(4):  # no words: no search
        assert client.get("/search").status_code == 200
        assert client.get("/api/v1/posts").status_code == 200
    assert client.get("/search?q=first").status_code == 200
    assert client.get("/search?q=first").status_code == 200  # the cached page: free
    assert client.get("/api/v1/posts?q=second").status_code == 200
    assert client.get("/search?q=third").status_code == 200
    refused = client.get("/search?q=fourth")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    from_api = client.get("/api/v1/posts?q=fifth")
    assert from_api.status_code == 429
    assert from_api.is_json
    assert int(from_api.headers["Retry-After"]) > 0
    assert client.get("/api/v1/posts").status_code == 200  # listing still works
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert other.get("/search?q=fourth").status_code == 200  # another client's own budget
