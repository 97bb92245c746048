"""factory_boy factories; each call commits, so the rows are there for the next request."""

from __future__ import annotations

import factory
from sqlalchemy import select

from penpress import page_cache
from penpress.accounts.models import Role, User
from penpress.accounts.services import hash_password
from penpress.blog import counts
from penpress.blog.markdown import render_markdown
from penpress.blog.models import Comment, Post, Tag
from penpress.database import utcnow
from penpress.extensions import db

DEFAULT_PASSWORD = "correct-horse-battery"
# Hashing is deliberately slow; one hash made once serves every factory-made user.
DEFAULT_HASH = hash_password(DEFAULT_PASSWORD)


class BaseFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):  # type: ignore[no-untyped-def]
        """Rows made here skip the services: bring the counters they keep up to date."""
        super()._after_postgeneration(instance, create, results)
        if create:
            recount_for_tests()


def recount_for_tests() -> None:
    """Counters and page-cache generations as the services would have left them."""
    counts.recount()
    page_cache.site_changed()
    db.session.commit()


def role(name: str) -> Role:
    found = db.session.scalar(select(Role).where(Role.name == name))
    assert found is not None, f"role {name} missing"
    return found


class UserFactory(BaseFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password_hash = DEFAULT_HASH
    bio = ""
    active = True
    # Explicitly an author (writes and publishes), not the site's default role for new sign-ups
    # (reader): most tests act as a writer. Pass ``role_name=`` for any other role. The address
    # is unconfirmed, which only matters where a test switches on REQUIRE_CONFIRMED_EMAIL.
    role = factory.LazyFunction(lambda: role("author"))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):  # type: ignore[no-untyped-def]
        role_name = kwargs.pop("role_name", None)
        if role_name:
            kwargs["role"] = role(role_name)
        password = kwargs.pop("password", None)
        if password:
            kwargs["password_hash"] = hash_password(password)
        return super()._create(model_class, *args, **kwargs)


class TagFactory(BaseFactory):
    class Meta:
        model = Tag

    name = factory.Sequence(lambda n: f"tag{n}")
    slug = factory.LazyAttribute(lambda o: o.name.lower())


class PostFactory(BaseFactory):
    class Meta:
        model = Post

    title = factory.Sequence(lambda n: f"Post number {n}")
    slug = factory.Sequence(lambda n: f"post-number-{n}")
    summary = "A short summary."
    body = "Some *Markdown* text."
    body_html = factory.LazyAttribute(lambda o: render_markdown(o.body))
    published = True
    published_at = factory.LazyAttribute(lambda o: utcnow() if o.published else None)
    # Posts made visible have gone live (their "went live" job is not due any more).
    went_live_at = factory.LazyAttribute(
        lambda o: (
            o.published_at
            if o.published and o.published_at is not None and o.published_at <= utcnow()
            else None
        )
    )
    status = factory.LazyAttribute(lambda o: "published" if o.published else "draft")
    views = 0
    author = factory.SubFactory(UserFactory)
    tags: list[Tag] = []


class CommentFactory(BaseFactory):
    class Meta:
        model = Comment

    body = factory.Sequence(lambda n: f"Comment {n}")
    approved = True
    author = factory.SubFactory(UserFactory)
    post = factory.SubFactory(PostFactory)
