"""Browser logins: Flask-Login backed by server-side sessions, and the site's acting user.

The session cookie and the remember-me cookie hold only the secret of a
:class:`~penpress.accounts.models.UserSession`; logging out or changing the password deletes
that row, so a copied cookie stops working at once.

:func:`acting_user` is the one way the site's views (accounts, blog, admin, main) learn who is
acting: a real :class:`User` or ``None``, never Flask-Login's anonymous stand-in.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, session
from flask_login import current_user, login_user, logout_user

from penpress.accounts import sessions
from penpress.accounts.models import SessionKind, User
from penpress.extensions import login_manager

# An ordinary login lasts a day of the browser staying open; "remember me" lasts the cookie's life.
SHORT_SESSION = timedelta(days=1)


def acting_user() -> User | None:
    """The signed-in user of this browser request, or ``None`` for an anonymous visitor."""
    user = current_user._get_current_object()  # the real object, not Flask-Login's proxy
    return user if isinstance(user, User) else None


def attach_login_secret(user: User, secret: str) -> None:
    """Let Flask-Login store ``secret`` (not the user id) in the cookies."""
    user.__dict__["login_secret"] = secret


def login_secret(user: User) -> str | None:
    secret = user.__dict__.get("login_secret")
    return secret if isinstance(secret, str) else None


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(secret: str) -> User | None:
        user = sessions.find_session_user(secret, SessionKind.WEB)
        if user is None:
            return None
        attach_login_secret(user, secret)
        return user


def log_in(user: User, remember: bool = False) -> None:
    """Start a browser session for ``user`` (already authenticated by a service)."""
    lifetime = (
        timedelta(seconds=int(current_app.config["REMEMBER_COOKIE_DURATION"]))
        if remember
        else SHORT_SESSION
    )
    secret, _ = sessions.start_session(user, SessionKind.WEB, lifetime)
    attach_login_secret(user, secret)
    session.clear()  # a fresh cookie: nothing from before login carries over (fixation)
    login_user(user, remember=remember)


def log_out(user: User | None) -> None:
    """End this browser's session on the server, then clear the cookies."""
    if user is not None:
        secret = login_secret(user)
        if secret:
            sessions.end_session(secret)
    logout_user()
    remember = session.get("_remember")
    session.clear()
    if remember == "clear":
        session["_remember"] = "clear"  # Flask-Login's order to delete the remember-me cookie


def restart_session(user: User, remember: bool = False) -> None:
    """After a password change every session has ended; keep this browser logged in."""
    log_in(user, remember=remember)
