"""Demo content for a new site: a few accounts, tagged Markdown posts and comments.

Everything goes through the services, so the demo obeys the same rules as real use (comment
moderation included); the notification emails those services queue are dropped, since the demo
accounts' addresses are made up.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from penpress import jobs
from penpress.accounts import services as accounts
from penpress.accounts.models import User
from penpress.blog import services as blog
from penpress.blog.models import Comment, Post
from penpress.database import utcnow
from penpress.extensions import db
from penpress.permissions import Permission, holds

DEMO_ACCOUNTS = [
    # username, email, password, role
    ("admin", "admin@example.com", "admin-password", "admin"),
    ("moderator", "moderator@example.com", "moderator-password", "moderator"),
    ("alice", "alice@example.com", "alice-password", "author"),
    ("bob", "bob@example.com", "bob-password", "author"),
    ("carol", "carol@example.com", "carol-password", "reader"),
]

TOPICS = [
    ("Flask", ["flask", "python"]),
    ("SQLAlchemy", ["sqlalchemy", "databases", "python"]),
    ("Testing", ["testing", "python"]),
    ("Deployment", ["deployment", "devops"]),
    ("Security", ["security", "web"]),
    ("Caching", ["performance", "web"]),
    ("Markdown", ["writing"]),
    ("Celery", ["celery", "python", "devops"]),
]
ANGLES = [
    "A gentle introduction to {t}",
    "{t} in production: lessons learned",
    "Ten things I wish I knew about {t}",
    "Why {t} still matters",
    "Debugging {t} the calm way",
]
COMMENTS = [
    "Thanks, this cleared things up for me.",
    "Great write-up! Could you expand on the second point?",
    "I ran into the same issue last week.",
    "Bookmarked. The examples are really helpful.",
    "Interesting take, though I'd do the last step differently.",
]


@dataclass
class SeedReport:
    accounts: list[tuple[str, str, str, str]] = field(default_factory=list)
    posts: int = 0
    comments: int = 0


def _body(topic: str, rng: random.Random) -> str:
    points = rng.sample(
        ["keep it simple", "measure first", "write the test", "read the docs", "ship small"], 3
    )
    items = "\n".join(f"- **{p.capitalize()}**: it pays off with {topic}." for p in points)
    return (
        f"## Why {topic}?\n\n{topic} is a tool many of us use every day. "
        f"Here is what works for me.\n\n{items}\n\n"
        f"```python\nprint('hello from {topic.lower()}')\n```\n\n"
        f"> Good software is built one small step at a time.\n\n"
        f"Read more on [the project site](https://example.com/{topic.lower()})."
    )


def seed(users: int = 5, posts: int = 30, comments: int = 60, seed_value: int = 42) -> SeedReport:
    """Add demo accounts, posts and comments; existing demo accounts are reused."""
    rng = random.Random(seed_value)
    accounts.ensure_roles()
    report = SeedReport()
    people: list[User] = []
    wanted = list(DEMO_ACCOUNTS)
    for n in range(len(DEMO_ACCOUNTS), max(users, 3)):
        wanted.append((f"writer{n}", f"writer{n}@example.com", f"writer{n}-password", "author"))
    for username, email, password, role in wanted[: max(users, 3)]:
        user = accounts.find_user_by_email(email)
        if user is None:
            user = accounts.create_account(
                username, email, password, role=role, confirmed=True,
                bio=f"{username.capitalize()} writes about software.",
            )  # fmt: skip
            report.accounts.append((username, email, password, role))
        people.append(user)
    writers = [u for u in people if holds(u, Permission.WRITE)]
    moderator = next(u for u in people if holds(u, Permission.MODERATE))
    readers = people

    now = utcnow()
    created: list[Post] = []
    for i in range(posts):
        topic, tags = TOPICS[i % len(TOPICS)]
        title = ANGLES[(i // len(TOPICS)) % len(ANGLES)].format(t=topic)
        if i >= len(TOPICS) * len(ANGLES):
            title = f"{title} (part {i // (len(TOPICS) * len(ANGLES)) + 1})"
        post = blog.create_post(
            writers[i % len(writers)],
            title=title,
            summary=f"Notes on {topic}: what works, what doesn't, and why.",
            body=_body(topic, rng),
            tags=tags,
            published=i % 7 != 6,  # a few drafts
            publish_at=now - timedelta(days=posts - i, hours=rng.randint(0, 23)),
        )
        created.append(post)
    report.posts = len(created)

    published = [p for p in created if p.published]
    for i in range(comments if published else 0):
        post = published[i % len(published)]
        author = readers[(i * 3 + 1) % len(readers)]
        comment: Comment = blog.add_comment(author, post, rng.choice(COMMENTS))
        if not comment.approved and i % 5 != 4:  # a moderator approves most; some wait
            blog.approve_comment(moderator, comment)
    report.comments = comments if published else 0
    jobs.drop_pending()  # no email about demo content to made-up addresses
    return report


def is_empty() -> bool:
    return db.session.scalar(select(User.id).limit(1)) is None
