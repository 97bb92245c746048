"""Account rules: registration, login, profile, passwords, sessions, follows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from penpress.accounts import services, sessions, tokens
from penpress.accounts.models import Permission, SessionKind
from penpress.errors import Conflict, Forbidden, Invalid, Unauthorized
from penpress.extensions import db
from tests.factories import DEFAULT_PASSWORD


def test_register_normalises_email_and_hashes_password(ctx):
    user = services.register_user("newbie", "New.Person@Example.COM ", "s3cret-password")
    assert user.email == "new.person@example.com"
    assert user.password_hash != "s3cret-password"
    assert user.password_hash.startswith("scrypt:")
    assert user.role.name == "reader"  # the default role of self-registered accounts
    assert user.can(Permission.COMMENT)
    assert not user.can(Permission.WRITE)
    assert not user.can(Permission.MODERATE)


def test_register_reports_every_invalid_field(ctx):
    with pytest.raises(Invalid) as caught:
        services.register_user("x", "not-an-email", "short")
    assert set(caught.value.details) == {"username", "email", "password"}


def test_register_rejects_duplicates_case_insensitively(ctx, make):
    make.user(username="taken", email="taken@example.com")
    with pytest.raises(Conflict) as caught:
        services.register_user("TAKEN", "Taken@Example.com", "long-enough-password")
    assert set(caught.value.details) == {"username", "email"}


def test_authenticate_hides_which_part_was_wrong(ctx, make):
    make.user(email="someone@example.com")
    with pytest.raises(Unauthorized) as unknown:
        services.authenticate("nobody@example.com", DEFAULT_PASSWORD)
    with pytest.raises(Unauthorized) as wrong:
        services.authenticate("someone@example.com", "wrong-password")
    assert unknown.value.message == wrong.value.message == services.INVALID_LOGIN
    assert services.authenticate("SOMEONE@example.com", DEFAULT_PASSWORD).email == (
        "someone@example.com"
    )


def test_inactive_users_cannot_log_in(ctx, make):
    make.user(email="gone@example.com", active=False)
    with pytest.raises(Forbidden):
        services.authenticate("gone@example.com", DEFAULT_PASSWORD)


def test_change_password_needs_the_current_one_and_ends_every_session(ctx, make):
    user = make.user()
    secret, _ = sessions.start_session(user, SessionKind.WEB, timedelta(hours=1))
    with pytest.raises(Invalid):
        services.change_password(user, "wrong", "another-password")
    assert sessions.find_session(secret) is not None
    services.change_password(user, DEFAULT_PASSWORD, "another-password")
    assert sessions.find_session(secret) is None
    assert services.authenticate(user.email, "another-password").id == user.id


def test_sessions_expire_and_end(ctx, make):
    user = make.user()
    expired, _ = sessions.start_session(user, SessionKind.WEB, timedelta(seconds=-1))
    live, _ = sessions.start_session(user, SessionKind.WEB, timedelta(hours=1))
    assert sessions.find_session(expired) is None
    assert sessions.find_session(live, SessionKind.API) is None  # wrong kind
    assert sessions.find_session(live, SessionKind.WEB).user_id == user.id
    sessions.end_session(live)
    assert sessions.find_session(live) is None
    assert sessions.purge_expired_sessions() == 1


def test_the_hot_path_lookups_answer_like_find_session(ctx, make):
    """The token check (no user loaded) and the browser's loader (the user alone) accept and
    refuse exactly the sessions ``find_session`` does."""
    user = make.user()
    expired, _ = sessions.start_session(user, SessionKind.WEB, timedelta(seconds=-1))
    live, _ = sessions.start_session(user, SessionKind.WEB, timedelta(hours=1))
    api, _ = sessions.start_session(user, SessionKind.API, timedelta(hours=1))
    db.session.commit()  # the token check reads what is committed
    for secret, kind, accepted in [
        (live, SessionKind.WEB, True),
        (api, SessionKind.API, True),
        (live, SessionKind.API, False),  # another kind of login
        (api, SessionKind.WEB, False),
        (expired, SessionKind.WEB, False),
        ("no-such-secret", SessionKind.WEB, False),
        ("", SessionKind.WEB, False),
        ("x" * (sessions.MAX_SECRET_LENGTH + 1), SessionKind.WEB, False),
    ]:
        login = sessions.find_live_login(secret, kind)
        loaded = sessions.find_session_user(secret, kind)
        assert (login is not None, loaded is not None) == (accepted, accepted), (secret, kind)
        if accepted:
            assert login == sessions.LiveLogin(user_id=user.id, kind=kind.value)
            assert loaded is user
    user.active = False  # deactivated: no login of theirs counts any more
    db.session.commit()
    assert sessions.find_live_login(api, SessionKind.API) is None
    assert sessions.find_session_user(live, SessionKind.WEB) is None
    user.active = True
    db.session.commit()
    sessions.end_session(api)
    assert sessions.find_live_login(api, SessionKind.API) is not None  # not committed yet
    db.session.commit()
    assert sessions.find_live_login(api, SessionKind.API) is None


def test_a_token_verified_before_stops_at_its_expiry(ctx, make, monkeypatch):
    """Verified tokens are remembered, their expiry is not: past ``exp`` the token is a 401
    even though its signature was checked earlier."""
    user = make.user()
    pair = tokens.issue_token_pair(user)
    db.session.commit()  # the token check reads what is committed
    claims = tokens.decode(pair.access_token, "access")
    assert tokens.authenticate_token(pair.access_token).user_id == user.id
    monkeypatch.setattr(tokens.time, "time", lambda: claims["exp"] + 1)
    with pytest.raises(Unauthorized, match="expired"):
        tokens.authenticate_token(pair.access_token)


def test_a_token_is_checked_against_the_key_of_the_site_that_reads_it(ctx, make, app):
    user = make.user()
    pair = tokens.issue_token_pair(user)
    assert tokens.decode(pair.access_token, "access")["sub"] == str(user.id)
    app.config["SECRET_KEY"] = "another-key-" * 4  # a remembered answer must not carry over
    with pytest.raises(Unauthorized, match="invalid"):
        tokens.decode(pair.access_token, "access")


def test_a_token_whose_user_is_deactivated_after_the_check_acts_for_no_one(ctx, make):
    user = make.user()
    pair = tokens.issue_token_pair(user)
    db.session.commit()
    login = tokens.authenticate_token(pair.access_token)
    user.active = False
    with pytest.raises(Unauthorized, match="revoked"):
        tokens.user_of(login)


def test_profile_changes_by_owner_or_admin_only(ctx, make):
    owner, other, admin = make.user(), make.user(), make.user(role_name="admin")
    services.update_profile(owner, owner, bio="Hello", image_url="https://example.com/a.png")
    assert (owner.bio, owner.image_url) == ("Hello", "https://example.com/a.png")
    with pytest.raises(Forbidden):
        services.update_profile(other, owner, bio="Hacked")
    services.update_profile(admin, owner, bio="Moderated")
    assert owner.bio == "Moderated"
    with pytest.raises(Invalid):
        services.update_profile(owner, owner, image_url="javascript:alert(1)")


def test_admins_manage_roles_but_not_their_own_demotion(ctx, make):
    admin, user = make.user(role_name="admin"), make.user()
    services.set_role(admin, user, "moderator")
    assert user.is_moderator
    with pytest.raises(Forbidden):
        services.set_role(admin, admin, "author")
    with pytest.raises(Forbidden):
        services.set_role(user, admin, "admin")


def test_follow_is_idempotent_and_not_of_oneself(ctx, make):
    alice, bob = make.user(), make.user()
    services.follow(alice, bob)
    services.follow(alice, bob)
    assert services.followed_ids(alice, [bob.id, alice.id]) == {bob.id}
    assert services.follower_count(bob) == 1
    with pytest.raises(Invalid):
        services.follow(alice, alice)
    services.unfollow(alice, bob)
    assert not services.is_following(alice, bob)


def test_token_refresh_rotates_and_detects_reuse(ctx, make):
    user = make.user()
    pair = tokens.issue_token_pair(user)
    db.session.commit()  # the token check reads what is committed
    assert tokens.authenticate_token(pair.access_token).user_id == user.id
    rotated = tokens.refresh(pair.refresh_token)
    db.session.commit()
    with pytest.raises(Unauthorized):
        tokens.refresh(pair.refresh_token)  # replayed: the whole session ends
    db.session.commit()
    with pytest.raises(Unauthorized):
        tokens.authenticate_token(rotated.access_token)


def test_tokens_reject_tampering_and_other_kinds(ctx, make):
    user = make.user()
    pair = tokens.issue_token_pair(user)
    head, payload, signature = pair.access_token.split(".")
    with pytest.raises(Unauthorized):
        tokens.authenticate_token(f"{head}.{payload}.{signature[::-1]}")
    with pytest.raises(Unauthorized):
        tokens.authenticate_token(pair.refresh_token)  # a refresh token is not an access token
    with pytest.raises(Unauthorized):
        tokens.authenticate_token(pair.access_token, SessionKind.REALWORLD)


def test_a_token_and_its_user_in_one_query_answer_like_the_check(ctx, make, count_queries):
    """The Conduit API's check loads the user with the session: the same tokens accepted
    and refused as :func:`tokens.authenticate_token`, in one query."""
    user = make.user()
    conduit = tokens.issue_realworld_token(user)
    api = tokens.issue_token_pair(user).access_token
    db.session.commit()
    db.session.expire_all()
    with count_queries() as seen:
        found, sid = tokens.authenticate_token_user(conduit, SessionKind.REALWORLD)
    assert (found.id, len(seen)) == (user.id, 1)
    assert sid == tokens.authenticate_token(conduit, SessionKind.REALWORLD).sid
    with pytest.raises(Unauthorized):
        tokens.authenticate_token_user(api, SessionKind.REALWORLD)  # another door's token
    sessions.end_session(sid)
    with pytest.raises(Unauthorized, match="revoked"):
        tokens.authenticate_token_user(conduit, SessionKind.REALWORLD)
