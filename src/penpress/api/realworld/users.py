"""Authentication: register, log in, read and update the current user."""

from __future__ import annotations

from penpress.accounts import services as accounts
from penpress.accounts import tokens
from penpress.api.realworld.auth import current_login_secret, current_token, require_user
from penpress.api.realworld.blueprint import bp
from penpress.api.realworld.schemas import (
    LoginIn,
    RegisterIn,
    UpdateUserIn,
    read,
    user_out,
)
from penpress.errors import Forbidden, Invalid
from penpress.ratelimits import auth_rate_limit


@bp.post("/users/login")
@auth_rate_limit()
def login() -> tuple[dict[str, object], int]:
    """Exchange email and password for a token."""
    data = read("user", LoginIn())
    user = accounts.authenticate(data["email"], data["password"])
    return {"user": user_out(user, tokens.issue_realworld_token(user))}, 200


@bp.post("/users")
@auth_rate_limit()
def register() -> tuple[dict[str, object], int]:
    """Create an account and log it in, as the site's registration policy allows.

    Invite-only or closed: 403. Under approval the account is created, but Conduit has no
    way to say "wait", and a token would not work: 403 saying it awaits approval (the account
    is kept for an administrator to approve).
    """
    data = read("user", RegisterIn())
    user = accounts.register_user(data["username"], data["email"], data["password"])
    if user.pending_approval:
        raise Forbidden(accounts.AWAITING_APPROVAL, keep_changes=True)
    return {"user": user_out(user, tokens.issue_realworld_token(user))}, 201


@bp.get("/user")
def current_user() -> tuple[dict[str, object], int]:
    """The caller, with the token it sent."""
    user = require_user()
    return {"user": user_out(user, current_token())}, 200


@bp.put("/user")
def update_user() -> tuple[dict[str, object], int]:
    """Change the caller's profile. A new email or password needs a fresh login (Conduit has no
    "current password"); a new address takes effect when the link emailed to it is opened, a
    new password ends every login and returns a new token."""
    user = require_user()
    data = read("user", UpdateUserIn())
    if not data:
        raise Invalid("Send at least one field to change.", {"user": ["can't be empty"]})
    image = data.get("image")
    # An empty or null image removes the picture; a null bio empties it.
    clear_image = "image" in data and not (image or "").strip()
    accounts.update_profile(
        user,
        user,
        username=data.get("username"),
        bio=(data["bio"] or "") if "bio" in data else None,
        image_url=None if clear_image else image,
        clear_image=clear_image,
    )
    token = current_token()
    password = data.get("password") or None  # front ends send "" for "unchanged"
    accounts.change_login_after_fresh_login(
        user, current_login_secret(), email=data.get("email"), password=password
    )
    if password:
        token = tokens.issue_realworld_token(user)
    return {"user": user_out(user, token)}, 200
