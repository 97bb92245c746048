"""Authentication: POST /users, POST /users/login, GET /user, PUT /user."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from penpress.accounts import services as accounts
from penpress.accounts import sessions, tokens
from penpress.accounts.models import SessionKind
from penpress.database import utcnow
from penpress.extensions import db
from tests.api.realworld.conftest import PASSWORD
from tests.api.realworld.shapes import check_errors, check_user
from tests.factories import DEFAULT_PASSWORD
from tests.mailbox import links_in


def _register(api, **user):
    return api.post("/users", json={"user": user})


# --- registration -------------------------------------------------------------------------------


def test_register_returns_201_and_a_user_with_a_working_token(api):
    response = _register(api, username="Jacob", email="jake@jake.jake", password="jakejake")
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    user = response.get_json()["user"]
    check_user(user)
    assert user["username"] == "Jacob"
    assert user["email"] == "jake@jake.jake"
    assert user["bio"] == ""
    assert user["image"] is None
    me = api.get("/user", user["token"])
    assert me.status_code == 200
    assert me.get_json()["user"]["username"] == "Jacob"


@pytest.mark.parametrize("field", ["username", "email", "password"])
def test_register_requires_every_field(api, field):
    user = {"username": "jake", "email": "jake@example.com", "password": PASSWORD}
    del user[field]
    errors = check_errors(_register(api, **user), 422, field)
    assert errors[field] == ["can't be empty"]


@pytest.mark.parametrize("field", ["username", "email", "password"])
@pytest.mark.parametrize("blank", ["", "   ", None])
def test_register_rejects_blank_values(api, field, blank):
    user = {"username": "jake", "email": "jake@example.com", "password": PASSWORD}
    user[field] = blank
    check_errors(_register(api, **user), 422, field)


@pytest.mark.parametrize("value", [123, True, ["jake"], {"a": 1}])
def test_register_rejects_wrong_types(api, value):
    errors = check_errors(
        _register(api, username=value, email="jake@example.com", password=PASSWORD),
        422,
        "username",
    )
    assert errors["username"] == ["must be a string"]


def test_register_reports_invalid_email_short_password_and_bad_username_together(api):
    response = _register(api, username="a b", email="not-an-email", password="short")
    check_errors(response, 422, "username", "email", "password")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "jake", "email": "jake@example.com", "password": PASSWORD},  # no wrapper
        {"user": None},
        {"user": "jake"},
        {"user": ["jake"]},
        [],
        "user",
        42,
    ],
)
def test_register_without_a_user_object_is_422(api, body):
    check_errors(api.post("/users", json=body), 422, "user")


def test_register_with_an_empty_body_is_422(api):
    check_errors(api.post("/users"), 422, "user")


@pytest.mark.parametrize(
    "raw", ['{"user": {', "not json", "[[[[[[[[" * 5000 + "]]]]]]]]" * 5000, "\xff\xfe"]
)
def test_register_with_malformed_json_is_400_in_conduit_shape(api, raw):
    response = api.post("/users", data=raw, content_type="application/json")
    check_errors(response, 400)


def test_register_accepts_json_without_a_content_type(api):
    body = '{"user": {"username": "jake", "email": "jake@example.com", "password": "jakejake1"}}'
    response = api.post("/users", data=body, content_type="text/plain")
    assert response.status_code == 201


def test_register_duplicate_username_or_email_is_422(api, jake):
    taken_name = _register(api, username="JAKE", email="other@example.com", password=PASSWORD)
    assert check_errors(taken_name, 422, "username")
    taken_email = _register(api, username="other", email="Jake@Example.com", password=PASSWORD)
    assert check_errors(taken_email, 422, "email")


def test_registration_ignores_unknown_fields(api):
    response = _register(
        api, username="jake", email="jake@example.com", password=PASSWORD, role="admin"
    )
    assert response.status_code == 201
    assert set(response.get_json()["user"]) == {"email", "token", "username", "bio", "image"}


# --- login -------------------------------------------------------------------------------------


def test_login_returns_the_user_and_a_new_token(api, jake):
    response = api.post(
        "/users/login", json={"user": {"email": jake["email"], "password": PASSWORD}}
    )
    assert response.status_code == 200
    user = response.get_json()["user"]
    check_user(user)
    assert user["username"] == "jake"
    assert user["token"] != jake["token"]
    assert api.get("/user", user["token"]).status_code == 200
    assert api.get("/user", jake["token"]).status_code == 200  # both logins live


def test_login_email_is_case_insensitive(api, jake):
    response = api.post(
        "/users/login", json={"user": {"email": " JAKE@example.com ", "password": PASSWORD}}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("email", "password"),
    [("jake@example.com", "wrong-password"), ("nobody@example.com", PASSWORD)],
)
def test_login_with_wrong_credentials_is_401(api, jake, email, password):
    response = api.post("/users/login", json={"user": {"email": email, "password": password}})
    errors = check_errors(response, 401)
    # The same answer either way: nothing says whether the email exists.
    assert errors == {"body": ["Invalid email or password."]}
    assert "token" not in response.get_data(as_text=True)


@pytest.mark.parametrize("field", ["email", "password"])
def test_login_requires_email_and_password(api, jake, field):
    user = {"email": jake["email"], "password": PASSWORD}
    del user[field]
    check_errors(api.post("/users/login", json={"user": user}), 422, field)
    user[field] = ""
    check_errors(api.post("/users/login", json={"user": user}), 422, field)


def test_login_without_a_user_object_is_422(api):
    check_errors(api.post("/users/login", json={"email": "a@b.c", "password": "x"}), 422, "user")


def test_deactivated_user_cannot_log_in_and_their_token_dies(api, app, jake):
    with app.app_context():
        user = accounts.get_user(None, "jake")
        user.active = False
        db.session.commit()
    response = api.post(
        "/users/login", json={"user": {"email": jake["email"], "password": PASSWORD}}
    )
    check_errors(response, 403)
    check_errors(api.get("/user", jake["token"]), 401)


def test_factory_users_can_log_in(api, make):
    user = make.user(username="maker")
    response = api.post(
        "/users/login", json={"user": {"email": user.email, "password": DEFAULT_PASSWORD}}
    )
    assert response.status_code == 200


# --- current user ------------------------------------------------------------------------------


def test_current_user_returns_the_token_that_was_sent(api, jake):
    response = api.get("/user", jake["token"])
    assert response.status_code == 200
    user = response.get_json()["user"]
    check_user(user)
    assert user == jake


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Token",
        "Token ",
        "Token not-a-jwt",
        "Token a.b.c",
        "Basic amFrZTpqYWtl",
    ],
)
def test_current_user_without_a_valid_token_is_401(api, jake, header):
    headers = {} if header is None else {"Authorization": header}
    response = api.get("/user", headers=headers)
    check_errors(response, 401)
    assert response.headers["WWW-Authenticate"] == "Token"


def test_bearer_scheme_is_not_conduits(api, jake):
    response = api.get("/user", headers={"Authorization": f"Bearer {jake['token']}"})
    check_errors(response, 401)


def test_token_scheme_is_case_insensitive(api, jake):
    response = api.get("/user", headers={"Authorization": f"token {jake['token']}"})
    assert response.status_code == 200


def test_a_v1_api_token_is_not_a_conduit_token(api, app, jake):
    with app.app_context():
        pair = tokens.issue_token_pair(accounts.get_user(None, "jake"))
        db.session.commit()
    check_errors(api.get("/user", pair.access_token), 401)


def test_an_expired_token_is_401(api, app, jake):
    with app.app_context():
        user = accounts.get_user(None, "jake")
        sid, _ = sessions.start_session(user, SessionKind.REALWORLD, timedelta(days=1))
        claims = tokens._claims(user, sid, "access", 60)
        claims["iat"] = utcnow() - timedelta(hours=2)
        claims["exp"] = utcnow() - timedelta(hours=1)
        expired = tokens._encode(claims)
        db.session.commit()
    errors = check_errors(api.get("/user", expired), 401)
    assert errors == {"body": ["The token has expired."]}


def test_a_token_signed_with_another_key_is_401(api, app, jake):
    import jwt

    forged = jwt.encode(
        jwt.decode(jake["token"], options={"verify_signature": False}),
        "a-different-secret-key-of-enough-length-0123456789",
        algorithm="HS256",
    )
    check_errors(api.get("/user", forged), 401)


def test_the_site_login_cookie_is_never_accepted(api, app, client, make):
    """Only the token header authenticates, so a cross-site request cannot ride the cookie."""
    from flask_login import current_user

    user = make.user(username="browser")
    with app.app_context():
        secret, _ = sessions.start_session(
            accounts.get_user(None, "browser"), SessionKind.WEB, timedelta(days=1)
        )
        db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = secret
        session["_fresh"] = True
    with client:
        response = api.get("/user")
        # The cookie is valid: the site would see the user logged in ...
        assert current_user.is_authenticated
        assert current_user.id == user.id
    # ... but the Conduit API does not.
    check_errors(response, 401)
    check_errors(
        api.post("/articles", json={"article": {"title": "t", "description": "d", "body": "b"}}),
        401,
    )


# --- update user -------------------------------------------------------------------------------


def test_update_user_changes_the_profile_and_keeps_the_token(api, jake, outbox):
    changes = {
        "email": "jacob@example.com",
        "username": "jacob",
        "bio": "I like to skateboard",
        "image": "https://i.stack.imgur.com/xHWG8.jpg",
    }
    response = api.put("/user", jake["token"], json={"user": changes})
    assert response.status_code == 200
    user = response.get_json()["user"]
    check_user(user)
    # The address changes only once the link emailed to it is opened; the old one is told.
    assert user == changes | {"token": jake["token"], "email": jake["email"]}
    assert sorted(m.to for m in outbox) == [["jacob@example.com"], [jake["email"]]]
    assert api.get("/user", jake["token"]).get_json()["user"] == user
    profile = api.get("/profiles/jacob").get_json()["profile"]
    assert profile["bio"] == "I like to skateboard"
    assert profile["image"] == "https://i.stack.imgur.com/xHWG8.jpg"
    assert api.get("/profiles/jake").status_code == 404


def test_update_user_with_one_field_leaves_the_others(api, jake):
    api.put("/user", jake["token"], json={"user": {"bio": "Hello", "image": "https://x.io/a.png"}})
    response = api.put("/user", jake["token"], json={"user": {"bio": "Changed"}})
    user = response.get_json()["user"]
    assert (user["bio"], user["image"], user["email"]) == (
        "Changed",
        "https://x.io/a.png",
        "jake@example.com",
    )


@pytest.mark.parametrize("cleared", ["", None])
def test_update_user_clears_image_and_bio(api, jake, cleared):
    api.put("/user", jake["token"], json={"user": {"bio": "Hello", "image": "https://x.io/a.png"}})
    response = api.put("/user", jake["token"], json={"user": {"bio": cleared, "image": cleared}})
    assert response.status_code == 200
    user = response.get_json()["user"]
    assert user["bio"] == ""
    assert user["image"] is None


def test_password_change_ends_every_login_and_returns_a_fresh_token(api, jake):
    second = api.post(
        "/users/login", json={"user": {"email": jake["email"], "password": PASSWORD}}
    ).get_json()["user"]["token"]
    response = api.put("/user", jake["token"], json={"user": {"password": "a-new-password"}})
    assert response.status_code == 200
    user = response.get_json()["user"]
    check_user(user)
    assert user["token"] not in (jake["token"], second)
    check_errors(api.get("/user", jake["token"]), 401)
    check_errors(api.get("/user", second), 401)
    assert api.get("/user", user["token"]).status_code == 200
    old = api.post("/users/login", json={"user": {"email": jake["email"], "password": PASSWORD}})
    check_errors(old, 401)
    new = api.post(
        "/users/login", json={"user": {"email": jake["email"], "password": "a-new-password"}}
    )
    assert new.status_code == 200


def test_an_empty_password_in_the_settings_form_changes_nothing(api, jake):
    """Front ends send every settings field; an empty password means "keep it"."""
    response = api.put("/user", jake["token"], json={"user": {"password": "", "bio": "Hi"}})
    assert response.status_code == 200
    assert response.get_json()["user"]["token"] == jake["token"]
    login = api.post("/users/login", json={"user": {"email": jake["email"], "password": PASSWORD}})
    assert login.status_code == 200


def test_update_user_rejects_a_too_short_password(api, jake):
    check_errors(
        api.put("/user", jake["token"], json={"user": {"password": "short"}}), 422, "password"
    )
    assert api.get("/user", jake["token"]).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", ""),
        ("email", None),
        ("email", "not-an-email"),
        ("username", "  "),
        ("username", "has space"),
        ("image", "javascript:alert(1)"),
        ("bio", 42),
        ("bio", "x" * 2001),
    ],
)
def test_update_user_validates_fields(api, jake, field, value):
    response = api.put("/user", jake["token"], json={"user": {field: value}})
    check_errors(response, 422, field)
    assert api.get("/user", jake["token"]).get_json()["user"] == jake


def test_update_user_to_a_taken_username_or_email_is_422(api, jake, celeb):
    check_errors(
        api.put("/user", jake["token"], json={"user": {"username": "celeb"}}), 422, "username"
    )
    check_errors(
        api.put("/user", jake["token"], json={"user": {"email": celeb["email"]}}), 422, "email"
    )


def test_update_user_to_its_own_values_is_fine(api, jake):
    response = api.put(
        "/user", jake["token"], json={"user": {"username": "jake", "email": jake["email"]}}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("body", [{}, {"user": {}}, {"user": {"role": "admin"}}, {"user": 1}])
def test_update_user_needs_at_least_one_field(api, jake, body):
    check_errors(api.put("/user", jake["token"], json=body), 422, "user")


def test_update_user_without_a_token_is_401(api, jake):
    check_errors(api.put("/user", json={"user": {"bio": "x"}}), 401)


# --- email and password need a fresh login ------------------------------------------------------


def _age_logins(app, minutes):
    """Make every login session look ``minutes`` old, as a token copied long ago would be."""
    from penpress.accounts.models import UserSession

    with app.app_context():
        for login in db.session.scalars(db.select(UserSession)):
            login.created_at = utcnow() - timedelta(minutes=minutes)
        db.session.commit()


@pytest.mark.parametrize(
    "change",
    [{"email": "thief@example.com"}, {"password": "a-new-password"}],
    ids=["email", "password"],
)
def test_an_old_token_cannot_change_email_or_password(app, api, jake, outbox, change):
    _age_logins(app, 16)
    response = api.put("/user", jake["token"], json={"user": {**change, "bio": "x"}})
    check_errors(response, 401)
    assert response.get_json()["errors"]["body"][0].startswith("Log in again")
    assert api.get("/user", jake["token"]).get_json()["user"] == jake  # nothing changed
    assert outbox == []


def test_an_old_token_still_edits_the_profile_sending_the_same_email(app, api, jake):
    """Conduit front ends send every settings field, the unchanged email among them."""
    _age_logins(app, 16)
    response = api.put(
        "/user", jake["token"], json={"user": {"email": jake["email"], "bio": "Still me"}}
    )
    assert response.status_code == 200
    assert response.get_json()["user"]["bio"] == "Still me"


def test_a_fresh_login_asks_for_the_change_and_the_link_makes_it(app, api, jake, outbox):
    _age_logins(app, 16)
    login = api.post("/users/login", json={"user": {"email": jake["email"], "password": PASSWORD}})
    token = login.get_json()["user"]["token"]
    response = api.put("/user", token, json={"user": {"email": "Jacob@Example.com"}})
    assert response.status_code == 200
    assert response.get_json()["user"]["email"] == jake["email"]  # not yet
    (message,) = [m for m in outbox if m.to == ["jacob@example.com"]]
    (link,) = [url for url in links_in(message) if "/auth/email-change/" in url]
    assert api.client.post(urlsplit(link).path).status_code == 303
    assert api.get("/user", token).get_json()["user"]["email"] == "jacob@example.com"


def test_email_and_password_change_together(app, api, jake, outbox):
    response = api.put(
        "/user",
        jake["token"],
        json={"user": {"email": "jacob@example.com", "password": "a-new-password"}},
    )
    assert response.status_code == 200
    token = response.get_json()["user"]["token"]
    assert token != jake["token"]
    (message,) = [m for m in outbox if m.to == ["jacob@example.com"]]
    (link,) = [url for url in links_in(message) if "/auth/email-change/" in url]
    assert api.client.post(urlsplit(link).path).status_code == 303
    login = api.post(
        "/users/login", json={"user": {"email": "jacob@example.com", "password": "a-new-password"}}
    )
    assert login.status_code == 200
