"""Profiles: read one, follow and unfollow."""

from __future__ import annotations

from penpress.accounts import services as accounts
from penpress.api.realworld.auth import acting_user, require_user
from penpress.api.realworld.blueprint import bp
from penpress.api.realworld.schemas import profile_out


@bp.get("/profiles/<username>")
def get_profile(username: str) -> tuple[dict[str, object], int]:
    """A user's profile; ``following`` says whether the caller follows them."""
    viewer = acting_user()
    user = accounts.get_user(viewer, username)
    return {"profile": profile_out(user, accounts.is_following(viewer, user))}, 200


@bp.post("/profiles/<username>/follow")
def follow(username: str) -> tuple[dict[str, object], int]:
    """Follow a user (again is fine); following yourself is a 422."""
    actor = require_user()
    user = accounts.get_user(actor, username)
    accounts.follow(actor, user)
    return {"profile": profile_out(user, accounts.is_following(actor, user))}, 200


@bp.delete("/profiles/<username>/follow")
def unfollow(username: str) -> tuple[dict[str, object], int]:
    """Stop following a user (not following is fine)."""
    actor = require_user()
    user = accounts.get_user(actor, username)
    accounts.unfollow(actor, user)
    return {"profile": profile_out(user, accounts.is_following(actor, user))}, 200
