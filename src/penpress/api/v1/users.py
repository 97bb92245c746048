"""Users: register, profiles, the logged-in user (``/me``) and administration."""

from __future__ import annotations

from typing import Any

from penpress.accounts import invites, services
from penpress.accounts.models import User
from penpress.api.v1.auth import LOGIN_SCOPE
from penpress.api.v1.core import (
    BODY_ERRORS,
    ApiBlueprint,
    acting_user,
    documented,
    page_payload,
)
from penpress.api.v1.posts import post_page_answer
from penpress.api.v1.schemas import (
    AdminUserPatchSchema,
    CursorPageArgsSchema,
    MeSchema,
    PageArgsSchema,
    PasswordChangeSchema,
    PostPageSchema,
    ProfilePatchSchema,
    RegisterSchema,
    UserPageSchema,
    UserSchema,
)
from penpress.blog import services as blog
from penpress.http import external_url
from penpress.ratelimits import auth_rate_limit

bp = ApiBlueprint(
    "api_v1_users", __name__, description="Accounts. Only `/me` shows an email address."
)


@bp.route("/users", methods=["GET"])
@documented(auth="optional", etag=True)
@bp.arguments(PageArgsSchema(), location="query")
@bp.response(200, UserPageSchema)
def list_users(args: dict[str, Any]) -> tuple[Any, ...]:
    """Active users by username, a page at a time."""
    page = services.list_users(acting_user(), args["page"], args["per_page"])
    return page_payload("users", page.items, page)


@bp.route("/users", methods=["POST"])
@auth_rate_limit(scope=LOGIN_SCOPE)
@documented(auth="none", errors=(*BODY_ERRORS, 403, 409))
@bp.arguments(RegisterSchema)
@bp.response(201, MeSchema)
def register(data: dict[str, Any]) -> tuple[User, int, dict[str, str]]:
    """Create an account as the site's registration policy allows; then get tokens from
    /auth/tokens.

    `open`: the account has the site's default role (reader unless the site says otherwise)
    and can log in at once. `approval`: it is created with `active: false` and
    `pending_approval: true`, and can log in once an admin approves it. `invite`: only with
    an `invite_token` (403 without). `closed`: 403, invitations included. With an
    `invite_token` the account gets the invited role and a confirmed address; a used,
    withdrawn or expired invitation, or another `email` than the invited one, is a 422.
    """
    token = data.pop("invite_token", None)
    if token is not None:
        user = invites.accept_invite(
            token,
            data["username"],
            data["password"],
            email=data["email"],
            bio=data["bio"],
            image_url=data["image_url"],
        )
    else:
        user = services.register_user(**data)
    location = external_url("api_v1_users.get_user", username=user.username)
    return user, 201, {"Location": location}


@bp.route("/users/<username>", methods=["GET"])
@documented(auth="optional", errors=(404,), etag=True)
@bp.response(200, UserSchema)
def get_user(username: str) -> User:
    """A user's public profile."""
    return services.get_user(acting_user(), username)


@bp.route("/users/<username>", methods=["PATCH"])
@documented(auth="required", errors=(*BODY_ERRORS, 403, 404))
@bp.arguments(AdminUserPatchSchema)
@bp.response(200, UserSchema)
def admin_update_user(data: dict[str, Any], username: str) -> User:
    """Change a user's role, active flag or bio (admins).

    `active: true` on an account waiting for approval approves it (it is emailed); reject
    one with DELETE. The last active admin cannot lose the admin role or be deactivated
    (403).
    """
    actor = acting_user()
    return services.admin_update_user(actor, services.get_user(actor, username), **data)


@bp.route("/users/<username>", methods=["DELETE"])
@documented(auth="required", errors=(403, 404))
@bp.response(204)
def delete_user(username: str) -> tuple[str, int]:
    """Delete a user and everything they wrote (admins); also turns down an account waiting
    for approval. Not yourself, nor the last active admin (403)."""
    actor = acting_user()
    services.delete_user(actor, services.get_user(actor, username))
    return "", 204


@bp.route("/me", methods=["GET"])
@documented(auth="required", etag=True)
@bp.response(200, MeSchema)
def get_me() -> User:
    """The logged-in user, with their email address."""
    user = acting_user()
    assert user is not None  # auth="required": no token, no call
    return user


@bp.route("/me/favorites", methods=["GET"])
@documented(auth="required", etag=True)
@bp.arguments(CursorPageArgsSchema(), location="query")
@bp.response(200, PostPageSchema)
def my_favorites(args: dict[str, Any]) -> tuple[Any, ...]:
    """The published posts you favorited, newest first, paged like ``GET /posts`` (by
    ``page`` or by ``cursor``)."""
    page = blog.list_favorites(
        acting_user(), args["page"], args["per_page"], cursor=args.get("cursor"), with_total=True
    )
    return post_page_answer(page, args)


@bp.route("/me", methods=["PATCH"])
@documented(auth="required", errors=(*BODY_ERRORS, 409, 429))
@bp.arguments(ProfilePatchSchema)
@bp.response(200, MeSchema)
def update_me(data: dict[str, Any]) -> User:
    """Change your username, bio or image (``image_url: null`` removes it), or ask to change
    your email address (with ``current_password``; it changes when the emailed link is opened).
    """
    user = acting_user()
    assert user is not None  # auth="required": no token, no call
    new_email = data.pop("email", None)
    current_password = data.pop("current_password", None)
    clear_image = "image_url" in data and data["image_url"] is None
    if clear_image:
        del data["image_url"]
    if new_email is not None:
        services.request_email_change(user, new_email, current_password)
    return services.update_profile(user, user, clear_image=clear_image, **data)


@bp.route("/me/password", methods=["PUT"])
@auth_rate_limit(scope=LOGIN_SCOPE)
@documented(auth="required", errors=BODY_ERRORS)
@bp.arguments(PasswordChangeSchema)
@bp.response(204)
def change_password(data: dict[str, Any]) -> tuple[str, int]:
    """Set a new password. Every login ends: all tokens, this one included, stop working."""
    services.change_password(acting_user(), data["current_password"], data["password"])
    return "", 204
