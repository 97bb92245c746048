"""Words for generated content: tags, titles, Markdown bodies, comments, people.

Everything is drawn from a seeded ``random.Random``, so one seed gives one data set. Bodies
are the slow part (Markdown rendering), so :class:`BodyPool` renders each distinct body once
and hands the same text out again: a million posts share a few thousand bodies, as real
sites share boilerplate, while titles, summaries, dates and tags stay per post.
"""

from __future__ import annotations

import random
from itertools import accumulate

from penpress.blog.markdown import render_markdown

# ~300 tags, most popular first: the ``Zipf`` weights below follow this order.
TAGS: tuple[str, ...] = tuple(
    name.strip()
    for name in """
    Python, JavaScript, web, career, productivity, Linux, devops, databases, PostgreSQL, testing,
    security, Rust, Go, React, writing, open source, cloud, Docker, Kubernetes, machine learning,
    design, TypeScript, performance, SQL, Flask, Django, API, architecture, tutorial, beginners,
    CSS, HTML, Git, AWS, data science, remote work, SQLite, Redis, Node.js, Java, C, Dart,
    algorithms, networking, hardware, mobile, Android, iOS, Swift, Kotlin, functional programming,
    Haskell, Elixir, Erlang, Ruby, Rails, PHP, Laravel, Vue, Svelte, Angular, accessibility, UX,
    product, startups, management, leadership, hiring, interviews, learning, books, podcasts,
    conferences, community, mentoring, burnout, health, cooking, travel, photography, music,
    gaming, game development, Unity, Godot, graphics, OpenGL, WebAssembly, compilers,
    operating systems, embedded, Arduino, Raspberry Pi, IoT, electronics, 3D printing, robotics,
    AI, LLM, NLP, computer vision, statistics, math, physics, science, history, economics,
    personal finance, investing, crypto, blockchain, privacy, cryptography, authentication,
    OAuth, web security, pentesting, CTF, monitoring, observability, logging, Prometheus,
    Grafana, Terraform, Ansible, CI, GitHub Actions, GitLab, code review, refactoring,
    clean code, TDD, debugging, profiling, concurrency, async, threads, distributed systems,
    microservices, monoliths, event sourcing, CQRS, DDD, GraphQL, REST, gRPC, WebSockets, HTTP,
    DNS, TLS, nginx, Apache, caching, CDN, serverless, edge computing, Cloudflare, Azure, GCP,
    Heroku, self-hosting, homelab, NAS, backups, ZFS, Btrfs, filesystems, shell, Bash, Zsh, Vim,
    Emacs, VS Code, terminal, dotfiles, keyboards, ergonomics, note-taking, Obsidian, Markdown,
    blogging, static sites, Hugo, Jekyll, SEO, analytics, marketing, email, newsletters,
    freelancing, consulting, side projects, indie hacking, SaaS, pricing, legal, licensing, GDPR,
    MySQL, MongoDB, Cassandra, Elasticsearch, Kafka, RabbitMQ, Celery, ORM, SQLAlchemy,
    migrations, indexes, query planning, data engineering, ETL, pandas, NumPy, Jupyter,
    visualization, dashboards, Excel, spreadsheets, automation, scripting, scraping, bots,
    Discord, Slack, chat, video, streaming, audio, podcasting, education, teaching, students,
    university, research, papers, peer review, open data, government, civic tech, climate,
    energy, sustainability, transport, cycling, running, fitness, meditation, parenting, family,
    language learning, Japanese, Spanish, German, French, translation, i18n, Unicode, fonts,
    typography, color, illustration, animation, SVG, canvas, WebGL, three.js, D3, maps, GIS,
    OpenStreetMap, weather, astronomy, space, biology, chemistry, medicine, bioinformatics,
    genomics, neuroscience, psychology, philosophy, ethics, culture, film, literature, poetry,
    fiction, comics, board games, chess, puzzles, retro computing, emulation, Amiga, DOS, BSD,
    FreeBSD, NixOS, Arch Linux, Debian, Ubuntu, Fedora, Windows, macOS, ChromeOS, browsers,
    Firefox, Chrome, extensions, PWA, offline-first, sync, CRDT, local-first, Lisp, Clojure,
    Scheme, OCaml, Crystal, Scala, Zig, Nim, Julia, R, MATLAB, Fortran, COBOL, assembly, Lua, Perl
    """.replace("\n", " ").split(",")
)

_ADJECTIVES = (
    "practical", "gentle", "complete", "pragmatic", "opinionated", "honest", "short", "visual",
    "hands-on", "slow", "calm", "boring", "modern", "minimal", "illustrated", "unofficial",
    "friendly", "quick", "thorough", "skeptical", "cheerful", "careful", "lazy", "humble",
)  # fmt: skip
_CONTEXTS = (
    "in production", "at scale", "on a budget", "for beginners", "the hard way",
    "without the hype", "for small teams", "in a weekend", "after ten years", "on a Raspberry Pi",
    "in 2019", "in 2021", "in 2023", "in 2025", "for the rest of us", "with a day job",
    "under pressure", "from scratch", "in a monorepo", "on the train", "as a solo developer",
    "at a bank", "at a startup", "in a hospital", "at a newspaper", "in the classroom",
    "on weekends", "on old laptops", "in the cloud", "on bare metal", "with two people",
    "with no budget", "in a legacy codebase", "before breakfast", "for a nonprofit",
    "at a university", "in a small town", "on a Friday afternoon", "with a tiny server",
    "in a big company", "on a plane", "after a long outage", "in an open source project",
)  # fmt: skip
_VERBS = (
    "Migrating to", "Testing", "Debugging", "Teaching", "Learning", "Scaling", "Self-hosting",
    "Benchmarking", "Rethinking", "Documenting", "Refactoring", "Deploying", "Automating",
    "Monitoring", "Securing", "Simplifying", "Explaining", "Measuring", "Replacing", "Loving",
)  # fmt: skip
_PEOPLE = (
    "beginners", "senior engineers", "managers", "students", "designers", "data scientists",
    "hiring managers", "open source maintainers", "founders", "freelancers", "teachers",
    "backend developers", "frontend developers", "sysadmins", "researchers", "product people",
    "juniors", "career changers", "writers", "small teams", "tired parents",
)  # fmt: skip
_NUMBERS = ("Three", "Five", "Seven", "Ten", "Twelve", "Fifteen", "Twenty", "A dozen")

# {t} topic, {u} another topic, {a} adjective, {c} context, {v} verb, {p} people, {n} number.
_TITLES = (
    "A {a} guide to {t} {c}", "{n} things I wish I knew about {t} {c}",
    "Why {t} still matters to {p} {c}", "{v} {t} {c}", "{v} {t}: lessons from {u}",
    "What {p} get wrong about {t} and {u}", "{t} vs {u}: a {a} comparison for {p}",
    "From {u} to {t} {c}", "How we use {t} and {u} {c}", "{a} notes on {t} and {u}",
    "{n} {a} tips for {t} {c}", "The {a} case for {t} {c}", "Stop worrying about {t}, {p}",
    "{t} for {p}: a {a} tour", "I tried {t} {c} for a month", "{v} {t} with {u} {c}",
    "Everything I know about {t} and {u}, {c}", "The hidden cost of {t} for {p}",
    "{t} is not the problem, {u} is", "An {a} introduction to {t} for {p}",
    "{v} {u}: a {a} {t} story", "Week notes: {t}, {u} and {a} things",
    "{n} mistakes {p} make with {t} {c}", "When {t} meets {u} {c}",
    "Is {t} worth it for {p} {c}?", "Reading list: {a} {t} for {p}",
    "Building a {a} {t} toolkit {c}", "How I learned to stop worrying and love {t} {c}",
    "{a} {t} patterns for {p}", "Q&A: {t} and {u} for {p}", "{n} lessons from {v} {t} {c}",
    "{v} {t}, {c}, with {u}", "Our {a} {t} setup {c}", "The {a} {t} handbook for {p}",
    "{t} and {u}, {c}", "Do {p} need {t} {c}?", "{n} {a} ways to use {t} with {u}",
)  # fmt: skip
# Most titles get one of these after a colon.
_SUBTITLES = (
    "a field report", "part two", "what the docs don't say", "a retrospective",
    "the numbers", "an experiment", "a love letter", "a rant", "a checklist", "a case study",
    "lessons learned", "a beginner's view", "one year later", "the sequel", "a postmortem",
    "a thought experiment", "a cheat sheet", "questions and answers", "a short history",
    "the good parts", "myths and facts", "an honest review", "a quick tour", "a deep dive",
    "notes to self", "a reading list", "an interview", "a small benchmark", "my workflow",
    "a guide for teams", "the long version", "a weekend project", "some open questions",
    "what I would do differently", "a second look", "the missing manual", "a field guide",
    "a confession", "a survival guide", "the boring parts", "a practical checklist",
    "a tale of two teams", "from the trenches", "an update", "a year in review",
)  # fmt: skip
_SUMMARIES = (
    "What works with {t}, what doesn't, and why.",
    "A {a} look at {t}, with examples you can copy.",
    "Notes from a year of {t} {c}.",
    "Why {t} keeps surprising me, and what I do about it.",
    "{n} ideas about {t} that changed how I work.",
    "The short version: {t} is fine, {u} is fine, your setup is the problem.",
    "How {t} and {u} fit together {c}.",
    "Things I learned the hard way about {t}.",
    "A field report on {t} for {p}.",
    "",  # some posts have no summary
)
_SENTENCES = (
    "{t} is one of those tools many of us use every day without thinking about it.",
    "The first time I tried {t} {c}, nothing worked the way the documentation promised.",
    "It turns out that {u} and {t} solve different problems, and that is fine.",
    "Most advice about {t} is written for teams much bigger than ours.",
    "If you take one thing from this post, let it be this: measure before you change anything.",
    "We spent a week on it, and the fix was three lines.",
    "{p} often ask me where to start with {t}; my answer has changed over the years.",
    "The {a} approach wins more often than the clever one.",
    "There is a reason {t} keeps coming back in conversations about {u}.",
    "I keep a small notebook of things that surprised me, and {t} fills many pages.",
    "Nothing here is new, but it took me a long time to see it.",
    "The numbers were boring, which is exactly what we wanted.",
    "Read the error message twice; it usually tells you what is wrong.",
    "A good default beats a configurable mess.",
    "Our first attempt with {u} failed for reasons that had nothing to do with {u}.",
    "Small steps, each one tested, got us further than the big rewrite ever did.",
    "{t} rewards patience and punishes shortcuts.",
    "The documentation for {t} is better than its reputation.",
    "We wrote it down, shared it with the team, and argued about it for an afternoon.",
    "Sometimes the {a} answer is to do less.",
    "I would do it again, but I would start with the tests.",
    "Our users never noticed, and that was the point.",
    "This is where {u} quietly saved the day.",
    "Half of the work was deleting code we no longer needed.",
)  # fmt: skip
_HEADINGS = (
    "Why {t}?", "The setup", "What went wrong", "What we changed", "Lessons learned",
    "Getting started", "The numbers", "A closer look at {u}", "Trade-offs", "What's next",
    "Further reading", "The short version", "How it works", "Pitfalls", "In practice",
)  # fmt: skip
_POINTS = (
    "keep it simple", "measure first", "write the test", "read the docs", "ship small",
    "automate the boring parts", "log what matters", "name things well", "delete dead code",
    "review each other's work", "document the why", "pin your versions", "back up your data",
    "fail loudly", "make it boring", "ask for help early",
)  # fmt: skip
_CODE = (
    "```python\nfrom pathlib import Path\n\nfor path in sorted(Path('.').glob('*.md')):\n"
    "    print(path.name, path.stat().st_size)\n```",
    "```sql\nSELECT author_id, count(*) AS posts\n  FROM posts\n WHERE published\n"
    " GROUP BY author_id\n ORDER BY posts DESC\n LIMIT 10;\n```",
    '```bash\nset -euo pipefail\nfor host in web1 web2; do\n  ssh "$host" uptime\ndone\n```',
    '```yaml\nservices:\n  web:\n    image: example/web:latest\n    ports: ["8080:8080"]\n```',
    "```js\nconst res = await fetch('/api/v1/posts');\nconst { posts } = await res.json();\n"
    "console.log(posts.length);\n```",
    "```rust\nfn main() {\n    let words: Vec<&str> = \"hello big world\".split(' ').collect();\n"
    '    println!("{}", words.len());\n}\n```',
    "```go\nfunc handler(w http.ResponseWriter, r *http.Request) {\n"
    '\tfmt.Fprintln(w, "ok")\n}\n```',
    "`git bisect` found the commit in four steps.",
)
_QUOTES = (
    "Good software is built one small step at a time.",
    "Make it work, make it right, make it fast.",
    "The best code is the code you never had to write.",
    "Premature optimization is the root of all evil, but so is premature abstraction.",
    "If it hurts, do it more often.",
)
_COMMENT_OPENERS = (
    "Thanks for writing this.", "Great write-up!", "Interesting take.", "Bookmarked.",
    "I ran into the same issue last week.", "Nice post.", "Hmm, not sure I agree.",
    "This is gold.", "Finally someone said it.", "Good read.", "Thanks!", "Love this.",
    "Small correction:", "Question:", "Same here.", "Well explained.",
)  # fmt: skip
_COMMENT_MIDDLES = (
    "The part about {t} cleared things up for me.",
    "Could you expand on the second point?",
    "We did something similar with {t} and it worked well.",
    "I'd do the last step differently, but the idea is sound.",
    "Do you have numbers for the {t} setup?",
    "The examples are really helpful.",
    "Our team switched to {t} last year and never looked back.",
    "This matches my experience {c}.",
    "Sharing this with my team.",
    "What about {t} on older hardware?",
    "I think the trade-off depends a lot on team size.",
    "The code sample has a small typo in line 2.",
    "",
)  # fmt: skip
_COMMENT_CLOSERS = (
    "",
    "Cheers.",
    "Keep them coming!",
    "Looking forward to part two.",
    ":)",
    "Thanks again.",
)
_FIRST_NAMES = (
    "ada", "alan", "alex", "amara", "ana", "ben", "bea", "carl", "chen", "chloe", "dan", "dara",
    "eli", "emma", "eva", "femi", "finn", "gabi", "grace", "hana", "hugo", "ines", "ivan", "jade",
    "jon", "juno", "kai", "kim", "lara", "leo", "lin", "luca", "maya", "mei", "milo", "nia",
    "noah", "nora", "omar", "ola", "pia", "priya", "quinn", "rafa", "remy", "rosa", "sam", "sara",
    "taro", "tess", "uma", "vera", "wen", "will", "xia", "yara", "yuki", "zane", "zoe", "ravi",
)  # fmt: skip
_LAST_NAMES = (
    "adams", "bauer", "costa", "dubois", "evans", "fischer", "garcia", "hansen", "ito", "jensen",
    "kowalski", "lopez", "muller", "nakamura", "okafor", "petrov", "quinn", "rossi", "silva",
    "tanaka", "ueda", "varga", "wang", "xu", "yilmaz", "zhang", "novak", "kim", "singh", "reyes",
    "moreau", "berg", "khan", "li", "sato", "walsh", "ortiz", "lund", "horvat", "mensah",
)  # fmt: skip
_BIOS = (
    "Writes about {t} and {u}.", "Software developer. {t}, mostly.", "Reader, tinkerer, {t} fan.",
    "Building things with {t} {c}.", "Teacher by day, {t} hacker by night.", "",
)  # fmt: skip


def zipf_cum_weights(n: int, exponent: float = 1.1) -> list[float]:
    """Cumulative weights ``1/rank**exponent`` for ``random.choices``: a long tail."""
    return list(accumulate(1.0 / (rank**exponent) for rank in range(1, n + 1)))


def _fill(template: str, rng: random.Random, topic: str, other: str) -> str:
    return template.format(
        t=topic,
        u=other,
        a=rng.choice(_ADJECTIVES),
        c=rng.choice(_CONTEXTS),
        v=rng.choice(_VERBS),
        p=rng.choice(_PEOPLE),
        n=rng.choice(_NUMBERS),
    )


def title(rng: random.Random, topic: str, other: str) -> str:
    text = _fill(rng.choice(_TITLES), rng, topic, other)
    if rng.random() < 0.7 and not text.endswith("?"):
        text = f"{text}: {rng.choice(_SUBTITLES)}"
    return text[0].upper() + text[1:]


def summary(rng: random.Random, topic: str, other: str) -> str:
    return _fill(rng.choice(_SUMMARIES), rng, topic, other)


def comment(rng: random.Random, topic: str) -> str:
    parts = (
        rng.choice(_COMMENT_OPENERS),
        _fill(rng.choice(_COMMENT_MIDDLES), rng, topic, topic),
        rng.choice(_COMMENT_CLOSERS),
    )
    return " ".join(part for part in parts if part)


def bio(rng: random.Random, topic: str, other: str) -> str:
    return _fill(rng.choice(_BIOS), rng, topic, other)


def person_names(rng: random.Random) -> tuple[str, str]:
    return rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)


def _paragraph(rng: random.Random, topic: str, other: str) -> str:
    return " ".join(_fill(s, rng, topic, other) for s in rng.sample(_SENTENCES, rng.randint(3, 5)))


def markdown_body(rng: random.Random, topic: str, other: str) -> str:
    """A few paragraphs of Markdown: headings, lists, code, a quote, a link."""
    blocks = [_paragraph(rng, topic, other)]
    for heading in rng.sample(_HEADINGS, rng.randint(2, 3)):
        blocks.append("## " + _fill(heading, rng, topic, other))
        blocks.append(_paragraph(rng, topic, other))
        kind = rng.randrange(4)
        if kind == 0:
            points = rng.sample(_POINTS, rng.randint(3, 5))
            blocks.append(
                "\n".join(f"- **{p.capitalize()}**: it pays off with {topic}." for p in points)
            )
        elif kind == 1:
            blocks.append(rng.choice(_CODE))
        elif kind == 2:
            blocks.append("> " + rng.choice(_QUOTES))
        else:
            steps = rng.sample(_POINTS, 3)
            blocks.append("\n".join(f"{i}. {s.capitalize()}." for i, s in enumerate(steps, 1)))
    slug = "".join(ch if ch.isalnum() else "-" for ch in topic.lower())
    blocks.append(
        f"Read more about *{topic}* on [the project site](https://example.com/{slug}), "
        f"and tell me what you think about `{other}`."
    )
    return "\n\n".join(blocks) + "\n"


class BodyPool:
    """A few distinct Markdown bodies per topic, each rendered once with the app's renderer."""

    def __init__(self, rng: random.Random, per_topic: int = 10):
        self._rng = rng
        self._per_topic = per_topic
        self._bodies: dict[tuple[int, int], tuple[str, str]] = {}

    def get(self, topic_index: int, variant: int) -> tuple[str, str]:
        """``(markdown, html)`` for one of ``per_topic`` variants of a topic."""
        key = (topic_index, variant % self._per_topic)
        found = self._bodies.get(key)
        if found is None:
            topic = TAGS[topic_index]
            other = TAGS[(topic_index * 7 + key[1] + 1) % len(TAGS)]
            text = markdown_body(self._rng, topic, other)
            found = (text, render_markdown(text))
            self._bodies[key] = found
        return found

    def __len__(self) -> int:
        return len(self._bodies)
