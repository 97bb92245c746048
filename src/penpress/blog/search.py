"""The full-text index over posts: SQLite FTS5 or a PostgreSQL ``tsvector``, one interface.

The index holds every post's title, summary, body and tag names (``Post.search_tags``),
drafts included: who may see a post is decided by the caller's conditions on the posts row
(published, and ``published_at`` come), so publishing, unpublishing and scheduling need no
change to the index, and a post can never show up in a search before readers may see it.

How it stays in step with the rows (schema in the migration ``c3cf44ead9b9``):

- SQLite: ``posts_fts`` is an *external-content* FTS5 table (it stores only the index and
  reads the text from ``posts``), kept by triggers on ``posts``. Triggers rather than the
  services, because an external-content table must be told a row's *old* text to forget it,
  which only a trigger sees for sure, and because rows are also written without the services
  (the bulk seeder, restores, migrations).
- PostgreSQL: ``posts.search_vector`` is a stored generated column with a GIN index:
  PostgreSQL recomputes it on every write of the row, so it cannot drift either.

The only copy the services keep is ``Post.search_tags`` (tags live in another table).

A user's query is never handed to the database's query language: it is cut into words
(letters and digits), each quoted as a literal term, so ``"``, ``*``, ``NEAR(``, ``-``, ``:``
and the like are just separators, and every word must match (stemmed: "running" finds
"runs").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Select,
    and_,
    any_,
    case,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    true,
    union,
    update,
)
from sqlalchemy.orm.interfaces import LoaderOption

from penpress.blog.models import Page, Post, Tag, post_tags
from penpress.extensions import db

MAX_TERMS = 10  # words of a query used at most (the rest are ignored)
MAX_TERM_LENGTH = 64
# Marks around matched words in the texts the databases return; replaced by <mark> only after
# the text around them has been escaped (see :func:`marked`).
OPEN, CLOSE = "\x02", "\x03"
EXCERPT_TOKENS = 32  # words of a body excerpt (SQLite's snippet() allows at most 64)
# bm25() weights of the FTS5 columns (title, summary, body, search_tags): a title match counts
# ten times a body one. Posts whose title holds every word come first anyway (see ranked_ids).
FTS_WEIGHTS = (10.0, 4.0, 1.0, 4.0)
# ts_rank() weights of the tsvector's D, C (body), B (summary, tags) and A (title) parts.
TS_WEIGHTS = "{0.05, 0.2, 0.4, 1.0}"
HEADLINE = f"StartSel={OPEN}, StopSel={CLOSE}"


@dataclass(frozen=True)
class FtsTable:
    """SQLite: an external-content FTS5 table over ``posts``, the trigger that adds a new
    post to it, and its columns (in its order)."""

    name: str
    insert_trigger: str
    columns: tuple[str, ...]


# Schema objects made by the migrations, not by the models: Alembic's comparison skips them.
FTS_TABLE = "posts_fts"
# SQLite: the titles alone (migration ``e4b8d1f3a6c2``), for the window of title matches.
TITLE_FTS_TABLE = "posts_title_fts"
FTS_TABLES = (
    FtsTable(FTS_TABLE, "posts_fts_after_insert", ("title", "summary", "body", "search_tags")),
    FtsTable(TITLE_FTS_TABLE, "posts_title_fts_after_insert", ("title",)),
)
VECTOR_COLUMN = "search_vector"
VECTOR_INDEX = "ix_posts_search_vector"
# PostgreSQL: a GIN index on the title's own tsvector (migration ``9b2f6c1d8e47``), which finds
# the newest title matches without reading every match's vector (see ranked_ids).
TITLE_VECTOR_INDEX = "ix_posts_title_vector"

_WORD = re.compile(r"[^\W_]+")
_fts = table(FTS_TABLE, column("rowid"))
_fts_name: ColumnElement[Any] = literal_column(FTS_TABLE)
_title_fts = table(TITLE_FTS_TABLE, column("rowid"))
_english: ColumnElement[Any] = literal_column("'english'::regconfig")
_vector: ColumnElement[Any] = literal_column(f"posts.{VECTOR_COLUMN}")
# The expression of TITLE_VECTOR_INDEX, word for word, so the planner uses the index.
_title_vector: ColumnElement[Any] = func.to_tsvector(_english, Post.title)


def terms(query: str) -> list[str]:
    """The words of a user's query, lower-cased and de-duplicated, at most :data:`MAX_TERMS`."""
    words: dict[str, None] = {}
    for word in _WORD.findall(query.casefold()):
        words.setdefault(word[:MAX_TERM_LENGTH], None)
    return list(words)[:MAX_TERMS]


def tag_text(names: Iterable[str]) -> str:
    """What ``Post.search_tags`` holds for a post with tags named ``names``."""
    return " ".join(names)


def retag(tag_id: int, *, without: bool = False) -> None:
    """Rewrite ``search_tags`` of every post with the tag ``tag_id`` from its tags as they
    are now (after a rename), or as they will be ``without`` it (before it is deleted): one
    UPDATE, however many posts."""
    with_tag = select(post_tags.c.post_id).where(post_tags.c.tag_id == tag_id)
    _rewrite_tags(Post.id.in_(with_tag), without=tag_id if without else None)


def retag_posts(post_ids: Sequence[int]) -> None:
    """Trusted (imports, which insert posts and their tags in bulk): rewrite ``search_tags``
    of these posts from their tags; one UPDATE."""
    if post_ids:
        _rewrite_tags(Post.id.in_(post_ids))


def _rewrite_tags(which: ColumnElement[bool], *, without: int | None = None) -> None:
    joined = (
        func.string_agg(Tag.name, literal(" "))
        if _postgres()
        else func.group_concat(Tag.name, literal(" "))
    )
    names = (
        select(func.coalesce(joined, ""))
        .select_from(post_tags.join(Tag, Tag.id == post_tags.c.tag_id))
        .where(post_tags.c.post_id == Post.id)
    )
    if without is not None:
        names = names.where(Tag.id != without)
    db.session.execute(
        # The index's copy, not an edit: the post's updated_at stays.
        update(Post)
        .where(which)
        .values(search_tags=names.scalar_subquery(), updated_at=Post.updated_at),
        execution_options={"synchronize_session": False},
    )


def _postgres() -> bool:
    return db.session.get_bind(mapper=Post).dialect.name == "postgresql"


def _fts_query(words: Sequence[str]) -> str:
    # Each word a quoted string (FTS5 doubles a quote inside one), all of them required.
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def _fts_match(words: Sequence[str], fts_table: str = FTS_TABLE) -> ColumnElement[bool]:
    return literal_column(fts_table).op("MATCH")(literal(_fts_query(words)))


def _tsquery(words: Sequence[str]) -> ColumnElement[Any]:
    # plainto_tsquery reads plain text (no operators) and ANDs the words.
    return func.plainto_tsquery(_english, literal(" ".join(words)))


def matches(words: Sequence[str]) -> ColumnElement[bool]:
    """SQL condition on ``posts``: the post's indexed text has every one of ``words``."""
    if _postgres():
        return _vector.op("@@")(_tsquery(words))
    inside = select(_fts.c.rowid).where(_fts_match(words)).correlate(None)
    return Post.id.in_(inside)


def ranked_ids(
    words: Sequence[str],
    where: Sequence[ColumnElement[bool]],
    limit: int,
    offset: int,
    *,
    window: int,
) -> list[int]:
    """Ids of the posts matching every one of ``words`` (and ``where``), best first.

    Posts whose title holds every word come first, then by relevance (bm25 on SQLite,
    ts_rank on PostgreSQL, both weighting the title most), then the newest (highest id).

    Only a window of the matches is ranked, so ranking costs the same however many posts
    hold its words: the newest ``window`` posts holding them (by id, which grows with
    creation; drafts and scheduled posts in the index count, ``where`` is checked after) and
    the newest ``window`` posts whose *title* holds them, so an old post is still found by
    its title. With fewer matches than ``window`` every match is ranked, as without it.
    """
    if _postgres():
        return _ts_ranked_ids(words, where, limit, offset, window)
    return _fts_ranked_ids(words, where, limit, offset, window)


def _ts_ranked_ids(
    words: Sequence[str],
    where: Sequence[ColumnElement[bool]],
    limit: int,
    offset: int,
    window: int,
) -> list[int]:
    """PostgreSQL: the two windows, then ts_rank over them alone, as it reads (and detoasts)
    each candidate's tsvector.

    A GIN index has no order, so finding the newest matches in it means reading the row of
    every match: 0.24 s for a word in 6% of a million posts. How a window is found instead
    depends on the share of posts that match, as the planner estimates it from the index's
    statistics (an EXPLAIN, which reads no rows): a common word's by walking the newest
    posts (:func:`_walked`), any other's in ranges of the newest ids
    (:func:`_newest_in_id_ranges`).
    """
    query = _tsquery(words)
    newest_id, index_scans = db.session.execute(
        select(func.max(Post.id), func.current_setting("enable_indexscan"))
    ).one()
    if newest_id is None:
        return []
    matches: list[ColumnElement[bool]] = [_vector.op("@@")(query), _title_vector.op("@@")(query)]
    if newest_id <= SMALL_SITE_WINDOWS * window:
        # Few posts, so few matches: both windows read among every post, in the statement
        # that ranks them.
        windows = union(*(_newest(window, match) for match in matches)).subquery("candidates")
        return _ts_ranked(query, Post.id.in_(select(windows.c.id)), where, limit, offset)
    candidates: set[int] = set()
    in_ranges: list[tuple[ColumnElement[bool], float]] = []
    for match in matches:
        share = max(_estimated_rows(select(Post.id).where(match)), 1) / newest_id
        if share > WALK_SHARE:
            candidates.update(_walked(match, window))
        else:
            in_ranges.append((match, share))
    if in_ranges:
        with _bitmap_scans_only(restore=index_scans):
            for sparse, share in in_ranges:
                candidates.update(_newest_in_id_ranges(sparse, window, newest_id, share))
    if not candidates:
        return []
    chosen = Post.id == any_(literal(sorted(candidates), ARRAY(Integer)))
    return _ts_ranked(query, chosen, where, limit, offset)


def _ts_ranked(
    query: ColumnElement[Any],
    candidates: ColumnElement[bool],
    where: Sequence[ColumnElement[bool]],
    limit: int,
    offset: int,
) -> list[int]:
    """PostgreSQL: the ``candidates`` that pass ``where``, title matches first, then by
    ts_rank, then the newest."""
    stmt = (
        select(Post.id)
        .where(candidates, *where)
        .order_by(
            func.ts_filter(_vector, literal_column("'{a}'::\"char\"[]")).op("@@")(query).desc(),
            func.ts_rank(literal_column(f"'{TS_WEIGHTS}'::float4[]"), _vector, query).desc(),
            Post.id.desc(),
        )
        .limit(limit)
        .offset(offset)
    )
    return list(db.session.scalars(stmt))


# Words in more than this share of the posts are found by walking the newest posts.
WALK_SHARE = 0.2
# Up to this many windows' worth of posts, the windows are read among every post, in the
# ranking statement (as many rows as there are matches, few on such a site).
SMALL_SITE_WINDOWS = 10


def _walked(match: ColumnElement[bool], window: int) -> list[int]:
    """PostgreSQL: the newest ``window`` posts ``match`` selects, newest first, for a common
    word: the posts are walked newest first and each tested, about ``window / share`` of
    them (the planner's choice for such a share, with the LIMIT)."""
    stmt = select(Post.id).where(match).order_by(Post.id.desc()).limit(window)
    return list(db.session.scalars(stmt))


def _newest_in_id_ranges(
    match: ColumnElement[bool], window: int, newest_id: int, share: float
) -> list[int]:
    """PostgreSQL: the newest ``window`` posts ``match`` selects, newest first, looked for in
    the range of ids they likely fill (``window / share``, and a quarter more), then in one
    as large as the matches found there say, then among every post.

    Each range is a BitmapAnd of its ids' bitmap and the words', so only the range's matches'
    rows are read; run under :func:`_bitmap_scans_only`.
    """
    span = int(window / share * 1.25)
    for _ in range(2):
        if span >= newest_id:
            break
        found = list(db.session.scalars(_newest(window, match, Post.id > newest_id - span)))
        if len(found) >= window:
            return found
        span = int(span * window / max(len(found), 1) * 1.25)
    return list(db.session.scalars(_newest(window, match)))


def _newest(window: int, *where: ColumnElement[bool]) -> Select[int]:
    """PostgreSQL: the ids of the newest ``window`` posts ``where`` selects, found in their
    indexes and sorted (``+ 0``: never by walking the primary key, which would detoast the
    tsvector of every post it passes)."""
    return select(Post.id).where(*where).order_by((Post.id + 0).desc()).limit(window)


def _estimated_rows(stmt: Select[Any]) -> int:
    """The planner's estimate of the rows ``stmt`` returns (PostgreSQL; plans, runs nothing)."""
    connection = db.session.connection()
    compiled = stmt.compile(dialect=connection.dialect)
    explained = connection.exec_driver_sql(
        f"EXPLAIN (FORMAT JSON) {compiled}", dict(compiled.params)
    ).scalar_one()
    return int(explained[0]["Plan"]["Plan Rows"])


@contextmanager
def _bitmap_scans_only(restore: str) -> Iterator[None]:
    """PostgreSQL: plain index scans off for this block (``restore``: the value to put back).

    Given an id range and the words, the planner walks the range's index and detoasts every
    post's tsvector there to test the words, as it prices that test far below its cost.

    Put back only when the block succeeds: a statement that failed aborted the transaction,
    whose rollback undoes the setting (``SET LOCAL``), and a statement sent to restore it
    there would fail in its turn and hide the first error.
    """
    db.session.execute(select(func.set_config("enable_indexscan", "off", True)))
    yield
    db.session.execute(select(func.set_config("enable_indexscan", restore, True)))


def _nth_newest(match: ColumnElement[bool], n: int) -> ColumnElement[Any]:
    """SQLite: the rowid of the ``n``-th newest row of the index ``match`` selects, 0 when
    fewer match; FTS5 walks its doclist backwards by rowid and stops there."""
    nth = (
        select(_fts.c.rowid)
        .where(match)
        .order_by(_fts.c.rowid.desc())
        .limit(1)
        .offset(n - 1)
        .correlate(None)
        .scalar_subquery()
    )
    return func.coalesce(nth, 0)


def _fts_ranked_ids(
    words: Sequence[str],
    where: Sequence[ColumnElement[bool]],
    limit: int,
    offset: int,
    window: int,
) -> list[int]:
    """SQLite: rank in the FTS5 index alone, then check only the best candidates' rows.

    Joining ``posts`` before ranking made SQLite read every matching row (``published`` sits
    after the long text columns, on overflow pages): 50 ms for a word in 6,000 of 100,000
    posts. The best ``offset + limit`` candidates and as many again (visible or not) are
    ranked in the index and their rows checked, one statement; only when more than half of
    them are hidden does it look further.

    bm25() is computed only for the window's rows: those from the ``window``-th newest match
    on (``rowid >=``, which FTS5 serves from its index), and the newest ``window`` title
    matches (read backwards, ``LIMIT``), the index being read from the oldest of those.
    What stays proportional to the matches is reading doclists, never a row: bm25() counts
    each term's rows once.

    Title matches come from the titles' own index (:data:`TITLE_FTS_TABLE`): a column filter
    on ``posts_fts`` made FTS5 read each word's whole list over every column, 18 ms of a
    two-word search at a million posts, against 1.6 ms there.
    """
    match = _fts_match(words)
    # Each a CTE, computed once: SQLite would run a subquery anew wherever it is used.
    cut = select(_nth_newest(match, window).label("id")).cte("cut").prefix_with("MATERIALIZED")
    titled = (
        select(_title_fts.c.rowid.label("id"))
        .where(_fts_match(words, TITLE_FTS_TABLE))
        .order_by(_title_fts.c.rowid.desc())
        .limit(window)
        .cte("titled")
        .prefix_with("MATERIALIZED")
    )
    newest = select(cut.c.id).scalar_subquery()
    oldest_titled = select(func.min(titled.c.id)).scalar_subquery()
    title_first = _fts.c.rowid.in_(select(titled.c.id)).label("in_title")
    in_window = and_(
        _fts.c.rowid
        >= select(func.min(cut.c.id, func.coalesce(oldest_titled, cut.c.id))).scalar_subquery(),
        or_(_fts.c.rowid >= newest, _fts.c.rowid.in_(select(titled.c.id))),
    )
    score = func.bm25(_fts_name, *FTS_WEIGHTS).label("score")
    wanted = offset + limit
    candidates: int | None = 2 * wanted + 20
    while True:
        ranked = (
            select(_fts.c.rowid.label("id"), title_first, score)
            .where(match, in_window)
            .order_by(title_first.desc(), score, _fts.c.rowid.desc())
            .limit(candidates)
            .cte("ranked")
            .prefix_with("MATERIALIZED")  # rank first; SQLite would otherwise join first
        )
        rows = db.session.execute(
            select(ranked.c.id, and_(true(), *where))
            .join(Post, Post.id == ranked.c.id)
            .order_by(ranked.c.in_title.desc(), ranked.c.score, ranked.c.id.desc())
        ).all()
        visible = [post_id for post_id, shown in rows if shown]
        if candidates is None or len(rows) < candidates or len(visible) >= wanted:
            return visible[offset:wanted]
        candidates = candidates * 4 if candidates < 10_000 else None


def highlighted(
    words: Sequence[str], ids: Sequence[int], options: Sequence[LoaderOption]
) -> dict[int, tuple[Post, str, str, str]]:
    """The posts ``ids`` (loaded with ``options``) with their title and summary, matches
    marked with :data:`OPEN`/:data:`CLOSE`, and an excerpt of the body around the matches
    (its start when only the title, summary or tags matched); by id."""
    if not ids:
        return {}
    if _postgres():
        query = _tsquery(words)
        excerpt = f"{HEADLINE}, MaxWords=35, MinWords=15"
        whole = literal(f"{HEADLINE}, HighlightAll=true")
        stmt = select(
            Post,
            func.ts_headline(_english, Post.title, query, whole),
            func.ts_headline(_english, Post.summary, query, whole),
            func.ts_headline(_english, Post.body, query, literal(excerpt)),
        ).where(Post.id.in_(ids))
    else:
        stmt = (
            select(
                Post,
                func.highlight(_fts_name, 0, OPEN, CLOSE),
                func.highlight(_fts_name, 1, OPEN, CLOSE),
                func.snippet(_fts_name, 2, OPEN, CLOSE, "…", EXCERPT_TOKENS),
            )
            .select_from(_fts)
            .join(Post, Post.id == _fts.c.rowid)
            .where(_fts_match(words), Post.id.in_(ids))
        )
    rows = db.session.execute(stmt.options(*options))
    return {post.id: (post, title, summary, excerpt) for post, title, summary, excerpt in rows}


# --- static pages -----------------------------------------------------------------------------
# Pages are not in the index: a site has a handful of them (About, Contact ...), so a search
# reads them all with LIKE (case-insensitive; substrings, so "garden" finds "gardening", but
# no stemming) rather than keep an FTS5 table and a tsvector column in step with a table of a
# dozen rows. The same query on both databases, hence the same results; no migration.

PAGE_EXCERPT_CHARS = 200  # characters of a page's text shown around the first match


def page_matches(words: Sequence[str]) -> ColumnElement[bool]:
    """SQL condition on ``pages``: every one of ``words`` is in the page's title or text."""
    return and_(
        true(),
        *(
            or_(
                Page.title.icontains(word, autoescape=True),
                Page.body.icontains(word, autoescape=True),
            )
            for word in words
        ),
    )


def page_title_first(words: Sequence[str]) -> ColumnElement[int]:
    """An ORDER BY term on ``pages``: 0 for pages whose title holds every word, else 1."""
    in_title = and_(true(), *(Page.title.icontains(word, autoescape=True) for word in words))
    return case((in_title, 0), else_=1)


def mark_words(text: str, words: Sequence[str]) -> str:
    """``text`` with every occurrence of ``words`` (any case) between :data:`OPEN` and
    :data:`CLOSE`, for :func:`marked`; what the databases do for posts, done here for pages."""
    if not words:
        return text
    pattern = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.I)
    clean = text.replace(OPEN, "").replace(CLOSE, "")
    return pattern.sub(lambda m: f"{OPEN}{m.group(0)}{CLOSE}", clean)


def excerpt_around(text: str, words: Sequence[str], size: int = PAGE_EXCERPT_CHARS) -> str:
    """About ``size`` characters of ``text`` (plain text) around the first of ``words`` found
    (its start when none is, the word being in the title), cut at spaces, matches marked."""
    folded = text.casefold()
    found = [at for at in (folded.find(w) for w in words) if at >= 0]
    start = max(min(found, default=0) - size // 3, 0)
    end = start + size
    if start > 0:
        start = text.find(" ", start) + 1 or start
    if end < len(text) and (space := text.rfind(" ", start, end)) > start:
        end = space
    piece = text[start:end].strip()
    return ("…" if start > 0 else "") + mark_words(piece, words) + ("…" if end < len(text) else "")


# Markdown's markup in a body excerpt (the index holds the Markdown source), and what stays of
# it: a link or image its text, code its content; emphasis, heading, list and quote marks,
# footnote references, HTML tags and table rules nothing. The match marks (OPEN/CLOSE) are
# characters of their own, so a link's text keeps them.
_MARKDOWN_IN_EXCERPTS = (
    # [text](url "title"), also when the excerpt ends inside the address, or starts after "["
    (re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*(?:\)|$)"), r"\1"),
    (re.compile(r"\]\([^)\n]*(?:\)|$)"), ""),
    (re.compile(r"!?\[(?![^\]\n]*\])"), ""),  # a link's "[" whose end the excerpt cut off
    (re.compile(r"!?\[([^\]\n]*)\]\[[^\]\n]*\]"), r"\1"),  # [text][ref]
    (re.compile(r"\[\^[^\]\s]+\]"), ""),  # [^1]
    (re.compile(r"<(https?://[^>\s]+)>"), r"\1"),  # <https://...>
    (re.compile(r"</?[A-Za-z][^>\n]*>"), ""),  # HTML tags
    (re.compile(r"(?m)^\s{0,3}(?:#{1,6}|>+|[-*+]|\d+[.)]|`{3,}|~{3,})(?=\s|$)"), ""),
    (re.compile(r"\*{1,3}|`+|(?<![\w\x02\x03])_{1,3}|_{1,3}(?![\w\x02\x03])|~~"), ""),
    (re.compile(r"(?m)^\s*\|?(?:\s*:?-+:?\s*\|)+\s*(?::?-+:?)?\s*$"), ""),  # |---|:-:|
    (re.compile(r"(?m)^\s*-{3,}\s*$"), ""),  # a rule
    (re.compile(r"\s*\|\s*"), " "),
)


def plain_excerpt(text: str | None) -> str:
    """A body excerpt from the index as readable text: Markdown's markup taken out (see
    :data:`_MARKDOWN_IN_EXCERPTS`), the match marks kept, runs of white space made one."""
    out = text or ""
    for pattern, replacement in _MARKDOWN_IN_EXCERPTS:
        out = pattern.sub(replacement, out)
    return " ".join(out.split())


def marked(text: str | None) -> Markup:
    """``text`` from the index, escaped, with its matched words in ``<mark>``.

    The text is escaped first and only then are the marks (:data:`OPEN`/:data:`CLOSE`) turned
    into tags, so nothing a writer put in a post can become markup; a stray mark character in
    a post only ever opens or closes a ``<mark>``, and the result is always balanced.
    """
    out: list[Markup] = []
    inside = False
    for part in re.split(f"([{OPEN}{CLOSE}])", text or ""):
        if part == OPEN:
            if not inside:
                out.append(Markup("<mark>"))
                inside = True
        elif part == CLOSE:
            if inside:
                out.append(Markup("</mark>"))
                inside = False
        else:
            out.append(escape(part))
    if inside:
        out.append(Markup("</mark>"))
    return Markup("").join(out)


def in_models(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    """Alembic ``include_name`` hook: False for the index's own schema objects (the FTS5
    tables and their shadow tables, the tsvector column and the GIN indexes), which the
    migrations make and the models do not describe."""
    if type_ == "table" and name is not None:
        return not any(name == fts.name or name.startswith(f"{fts.name}_") for fts in FTS_TABLES)
    if type_ == "column" and parent_names.get("table_name") == "posts":
        return name != VECTOR_COLUMN
    if type_ == "index":
        return name not in (VECTOR_INDEX, TITLE_VECTOR_INDEX)
    return True
