"""The performance targets Penpress set itself, checked against the newest runs.

Each target reads the newest run of the database and size it names and says whether it is
met, by the numbers it was judged on; a missed one says by how much and why, and a target
whose run is missing says so rather than passing. BENCHMARKS.md shows the table
(:func:`section`), regenerated with every run, so a verdict never outlives its figures.

Ratios to the ceiling (hello-world Flask in the same run) stand for latency wherever two runs
are compared: the machine's speed changes from one run to the next (the ceiling itself has
measured 4,400 to 5,900 req/s here), and the ratio cancels it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Run = Mapping[str, Any]
Runs = Mapping[tuple[str, int], Run]  # the newest run per (database, posts)

SMALL, LARGE, MILLION = 10_000, 100_000, 1_000_000
ANONYMOUS_HTML = ("home", "list", "deep list", "post page", "tag page", "author page", "site feed")
TOKEN_LISTS = ("api posts, token", "conduit articles, token")
LOGGED_IN = ("home, logged in", "your feed, logged in")
POSTGRES_API_LISTS = ("api posts", "conduit articles", *TOKEN_LISTS, "conduit feed")
FLAT_FACTOR = 1.25
DEEP_FACTOR = 1.5


@dataclass(frozen=True)
class Verdict:
    measured: str
    met: bool | None  # None: not measured (the run or an endpoint is missing)


@dataclass(frozen=True)
class Target:
    goal: str
    judge: Callable[[Runs], Verdict]
    why_missed: str = ""


def _ratios(run: Run | None, names: Sequence[str]) -> dict[str, float] | None:
    """The endpoints' ratios to the ceiling in ``run``; None unless every one was measured."""
    if run is None:
        return None
    found = {
        e["name"]: float(e["ratio_to_ceiling"])
        for e in run["endpoints"]
        if e.get("ok") and e.get("ratio_to_ceiling")
    }
    if any(name not in found for name in names):
        return None
    return {name: found[name] for name in names}


def _not_measured(what: str) -> Verdict:
    return Verdict(f"not measured: {what}", None)


def _label(db: str, posts: int) -> str:
    return f"{'PostgreSQL' if db == 'postgres' else 'SQLite'} {posts:,}"


def _at_least(
    names: Sequence[str], floor: float, sizes: Sequence[tuple[str, int]]
) -> Callable[[Runs], Verdict]:
    """Every endpoint of ``names`` at ``floor`` × ceiling or more, in each run of ``sizes``."""

    def judge(runs: Runs) -> Verdict:
        parts, met = [], True
        for db, posts in sizes:
            ratios = _ratios(runs.get((db, posts)), names)
            if ratios is None:
                return _not_measured(f"{_label(db, posts)} posts")
            below = {name: ratio for name, ratio in ratios.items() if ratio < floor}
            met = met and not below
            shown = f"{min(ratios.values()):.3f}–{max(ratios.values()):.3f}"
            if len(ratios) == 1:
                shown = f"{next(iter(ratios.values())):.3f}"
            if below and len(below) == len(ratios) > 1:
                shown += " (all below)"
            elif below:
                shown += " (below: " + ", ".join(f"{n} {r:.3f}" for n, r in below.items()) + ")"
            parts.append(f"{_label(db, posts)}: {shown}")
        return Verdict("; ".join(parts), met)

    return judge


def _flat(runs: Runs) -> Verdict:
    """Each endpoint at 1,000,000 posts within FLAT_FACTOR of its latency at 10,000, with
    latency as the ceiling's throughput over the endpoint's (see the module's docstring)."""
    small, large = runs.get(("sqlite", SMALL)), runs.get(("sqlite", MILLION))
    if small is None or large is None:
        return _not_measured("SQLite 10,000 and 1,000,000 posts")
    names = [e["name"] for e in small["endpoints"]]
    before, after = _ratios(small, names), _ratios(large, names)
    if before is None or after is None:
        return _not_measured("an endpoint failed in one of the runs")
    factors = {name: before[name] / after[name] for name in names}
    over = {name: f for name, f in sorted(factors.items(), key=lambda i: -i[1]) if f > FLAT_FACTOR}
    worst = max(factors.values())
    if not over:
        return Verdict(f"all {len(names)} endpoints within {worst:.2f}×", True)
    listed = ", ".join(f"{name} {factor:.3f}×" for name, factor in over.items())
    return Verdict(f"{len(names) - len(over)} of {len(names)} within; over: {listed}", False)


def _deep_list(runs: Runs) -> Verdict:
    parts, met = [], True
    for posts in (SMALL, LARGE, MILLION):
        ratios = _ratios(runs.get(("sqlite", posts)), ("list", "deep list"))
        if ratios is None:
            return _not_measured(f"SQLite {posts:,} posts")
        factor = ratios["list"] / ratios["deep list"]
        met = met and factor <= DEEP_FACTOR
        parts.append(f"{posts:,}: {factor:.2f}×")
    return Verdict(", ".join(parts), met)


def _worst_run_value(
    value: Callable[[Run], float | None], limit: float, unit: str
) -> Callable[[Runs], Verdict]:
    def judge(runs: Runs) -> Verdict:
        values = {key: value(run) for key, run in runs.items()}
        known = {key: v for key, v in values.items() if v is not None}
        if not known:
            return _not_measured("no run recorded it")
        key, worst = max(known.items(), key=lambda item: item[1])
        return Verdict(f"at most {worst:,.2f} {unit} ({_label(*key)} posts)", worst <= limit)

    return judge


def _worker_rss(run: Run) -> float | None:
    values = [float(e["worker_rss_mib"]) for e in run["endpoints"] if e.get("worker_rss_mib")]
    return max(values) if values else None


def _startup(run: Run) -> float | None:
    startup = run.get("startup") or {}
    best = startup.get("best_seconds")
    return float(best) if best is not None else None


def _seed_million(runs: Runs) -> Verdict:
    run = runs.get(("sqlite", MILLION))
    if run is None:
        return _not_measured("SQLite 1,000,000 posts")
    seconds = float(run["dataset"]["seed_seconds"])
    return Verdict(f"{seconds:,.0f} s", seconds <= 300)


SQLITE_SIZES = [("sqlite", size) for size in (SMALL, LARGE, MILLION)]

TARGETS: tuple[Target, ...] = (
    Target(
        "Anonymous HTML pages (home, list, deep list, post, tag, author, feed) ≥ 0.70 × ceiling "
        "at 100,000 posts",
        _at_least(ANONYMOUS_HTML, 0.70, [("sqlite", LARGE)]),
        "Every anonymous page is one page-cache hit: one query for its generations and the "
        "cached bytes; what is left is gunicorn, the WSGI call and that query.",
    ),
    Target(
        "Uncached API lists (`/api/v1/posts`, `/realworld/api/articles` with a token) ≥ 0.30",
        _at_least(TOKEN_LISTS, 0.30, SQLITE_SIZES),
        "A token list goes through Flask: the page of posts is shared by every caller "
        "(page_cache.shared_value), so a request costs the token check (one query, the "
        "verified JWT kept in an LRU), the page generations (one query) and, for Conduit, the "
        "caller's flags. The rest is the request's way through Flask and its extensions "
        "(request context, argument parsing, security headers, ETag, request id, metrics), "
        "each a few per cent of a worker's time in py-spy, none large enough alone; the bare "
        "Flask + SQLAlchemy floor skips all of them.",
    ),
    Target(
        "`/api/v1/posts/<slug>` ≥ 0.40",
        _at_least(("api post",), 0.40, SQLITE_SIZES),
        "The post's JSON comes from the page cache; see the anonymous pages.",
    ),
    Target(
        "Logged-in home and your feed ≥ 0.15",
        _at_least(LOGGED_IN, 0.15, SQLITE_SIZES),
        "A logged-in page is rendered for its reader: loading the reader (an ORM object with "
        "its role), the settings generation in the request's transaction, the page "
        "generations, then Jinja rendering the page around the shared lists, which is about "
        "a third of a worker's time. Runs differ by ±15% from one to the next.",
    ),
    Target(
        f"Flat: every endpoint at 1,000,000 posts within {FLAT_FACTOR}× of its latency at "
        "10,000 (SQLite)",
        _flat,
        "Search reads each word's list in the full-text index: FTS5's bm25 counts the posts "
        "holding each word, and finding the window's cut-off intersects the lists, so a "
        "search of two common words grows with the posts that hold them. Other factors near "
        f"{FLAT_FACTOR}× are within the runs' noise.",
    ),
    Target(
        f"The deepest page within {DEEP_FACTOR}× of page 1 (SQLite)",
        _deep_list,
        "A deep page is reached by its cursor and read from the index like page 1.",
    ),
    Target(
        "PostgreSQL + Redis: API lists ≥ 0.20 at 1,000,000 posts",
        _at_least(POSTGRES_API_LISTS, 0.20, [("postgres", MILLION)]),
        "On PostgreSQL each query is a round trip to a server whose processes share the "
        "machine's two cores with the workers and wrk: a token list makes the pool's "
        "pre-ping, the token check and the page generations, and a Conduit list the caller's "
        "two flag lookups too. Anonymous lists are page-cache hits and meet it.",
    ),
    Target(
        "Worker RSS ≤ 150 MB (143 MiB) after the run",
        _worst_run_value(_worker_rss, 150 / 1.048576, "MiB"),
    ),
    Target(
        "`create_app()` + imports under 1 s",
        _worst_run_value(_startup, 1.0, "s"),
    ),
    Target("`seed-db --posts 1000000` in at most 5 minutes (SQLite)", _seed_million),
)


def section(runs: Runs, targets: Sequence[Target] = TARGETS) -> str:
    """The targets as a Markdown table, then why each missed one is missed."""
    lines = [
        "## Targets",
        "",
        "Judged on the newest run of each database and size below (`bench/targets.py`); "
        "ratios are to the ceiling of the same run.",
        "",
        "| target | measured | |",
        "|---|---|---|",
    ]
    missed = []
    for target in targets:
        verdict = target.judge(runs)
        mark = {True: "met", False: "**missed**", None: "not measured"}[verdict.met]
        lines.append(f"| {target.goal} | {verdict.measured} | {mark} |")
        if verdict.met is False and target.why_missed:
            missed.append(f"- **{target.goal}**: {target.why_missed}")
    if missed:
        lines += ["", "Why the missed ones are missed:", "", *missed]
    return "\n".join(lines) + "\n"
