"""Search: published posts matching a reader's words, best first, with highlighted snippets;
and the published static pages matching them (a short list of their own, shown beside)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from markupsafe import Markup
from sqlalchemy import select

from penpress.accounts.models import User
from penpress.blog import search
from penpress.blog.models import Page, Post
from penpress.blog.services.posts import post_loader
from penpress.database import MAX_PER_PAGE, utcnow
from penpress.errors import Invalid
from penpress.extensions import db

QUERY_MAX_LENGTH = 200
# Results are paged by offset, which makes the database rank the matches before the page:
# beyond this page a reader is better served by more words than by more pages.
MAX_PAGE = 20
PAGE_HITS = 5  # static pages a search shows at most (a site has a handful)


@dataclass(frozen=True)
class SearchHit:
    """A post found, with its title, summary and a body excerpt, matches in ``<mark>``."""

    post: Post
    title: Markup
    summary: Markup
    excerpt: Markup


@dataclass
class SearchResults:
    """One page of a search."""

    query: str  # as typed (trimmed)
    words: list[str]  # what was searched for: the query's words
    page: int
    per_page: int
    hits: list[SearchHit] = field(default_factory=list)
    has_next: bool = False
    too_deep: bool = False  # a page past MAX_PAGE: nothing was read

    @property
    def has_prev(self) -> bool:
        return self.page > 1 and not self.too_deep


def search_posts(
    viewer: User | None, query: str, page: int = 1, per_page: int = 10
) -> SearchResults:
    """Posts readers see now (published, their time come) whose title, summary, body or tags
    hold every word of ``query``, title matches first, then by relevance; only the newest
    ``SEARCH_RANK_WINDOW`` matches and as many title matches are ranked (see
    :func:`penpress.blog.search.ranked_ids`), so a search costs the same on any size of blog.

    Anyone may search; drafts and scheduled posts are never found, not even by their writer
    (their own list is "My posts"). A query longer than :data:`QUERY_MAX_LENGTH` is
    ``Invalid``; one without words (only punctuation, say) finds nothing without a query;
    pages past :data:`MAX_PAGE` come back empty with ``too_deep`` set. Three queries a page:
    the ranked ids, the posts with their highlights and authors, their tags.
    """
    del viewer  # anyone sees the same results: only what every reader may see
    query = _cleaned(query)
    page = max(page, 1)
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    results = SearchResults(query=query, words=search.terms(query), page=page, per_page=per_page)
    if not results.words:
        return results
    if page > MAX_PAGE:
        results.too_deep = True
        return results
    visible = (Post.visible_at(utcnow()),)
    ids = search.ranked_ids(
        results.words,
        visible,
        per_page + 1,
        (page - 1) * per_page,
        window=int(current_app.config["SEARCH_RANK_WINDOW"]),
    )
    results.has_next = len(ids) > per_page and page < MAX_PAGE
    found = search.highlighted(results.words, ids[:per_page], post_loader())
    results.hits = [
        SearchHit(
            post=post,
            title=search.marked(title),
            summary=search.marked(summary),
            excerpt=search.marked(search.plain_excerpt(excerpt)),
        )
        for post, title, summary, excerpt in (found[i] for i in ids[:per_page] if i in found)
    ]
    return results


def _cleaned(query: str) -> str:
    """``query`` with its spaces collapsed; ``Invalid`` when too long."""
    query = " ".join(query.split())
    if len(query) > QUERY_MAX_LENGTH:
        raise Invalid.field("q", f"A search can be at most {QUERY_MAX_LENGTH} characters long.")
    return query


@dataclass(frozen=True)
class PageHit:
    """A static page found, with its title and an excerpt of its text, matches in ``<mark>``."""

    page: Page
    title: Markup
    excerpt: Markup


def search_pages(viewer: User | None, query: str) -> list[PageHit]:
    """Published static pages whose title or text holds every word of ``query`` (at most
    :data:`PAGE_HITS`), title matches first, then by title; drafts never, whoever asks.

    Pages are few, so they are read with LIKE rather than indexed (see
    :func:`penpress.blog.search.page_matches`); one query. ``Invalid`` like
    :func:`search_posts` for a query too long.
    """
    del viewer  # published pages only: the same for everyone
    words = search.terms(_cleaned(query))
    if not words:
        return []
    found = db.session.scalars(
        select(Page)
        .where(Page.published.is_(True), search.page_matches(words))
        .order_by(search.page_title_first(words), Page.title, Page.id)
        .limit(PAGE_HITS)
    )
    return [
        PageHit(
            page=page,
            title=search.marked(search.mark_words(page.title, words)),
            # body_html is the sanitized rendering: only its text is kept, then escaped again.
            excerpt=search.marked(
                search.excerpt_around(Markup(page.body_html).striptags(), words)  # noqa: S704
            ),
        )
        for page in found
    ]
