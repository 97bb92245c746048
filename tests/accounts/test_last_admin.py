"""The site is never left without an active administrator: the last one cannot be demoted,
deactivated or deleted, through the site, the API or a race between two admins."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import update

from penpress.accounts import services as accounts
from penpress.accounts.models import User
from penpress.errors import Forbidden
from penpress.extensions import db
from tests.api.v1.conftest import issue_pair
from tests.factories import UserFactory
from tests.pages import login


def reload(app: Flask, user: User) -> User:
    with app.app_context():
        return db.session.get_one(User, user.id)


def bearer(app: Flask, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_pair(app, user).access_token}"}


@pytest.mark.parametrize(
    ("path", "data"), [("role", {"role": "editor"}), ("active", {"active": "0"})]
)
def test_the_only_admin_cannot_step_down_on_the_site(
    app: Flask, client: FlaskClient, make, path: str, data: dict[str, str]
) -> None:
    admin = make.user(role_name="admin")
    make.user(role_name="admin", active=False)  # a deactivated admin does not count
    login(client, admin.email)
    response = client.post(f"/admin/users/{admin.username}/{path}", data=data)
    assert response.status_code == 403
    assert escape(accounts.LAST_ADMIN) in response.get_data(as_text=True)
    kept = reload(app, admin)
    assert (kept.role.name, kept.active) == ("admin", True)


def test_with_another_admin_one_may_step_down(app: Flask, client: FlaskClient, make) -> None:
    admin = make.user(role_name="admin")
    successor = make.user(role_name="admin")
    login(client, admin.email)
    response = client.post(f"/admin/users/{admin.username}/role", data={"role": "editor"})
    assert response.status_code == 303
    assert reload(app, admin).role.name == "editor"
    # Now the successor is the last one.
    their = app.test_client()
    login(their, successor.email)
    refused = their.post(f"/admin/users/{successor.username}/active", data={"active": "0"})
    assert refused.status_code == 403


def test_the_api_protects_the_last_admin(app: Flask, client: FlaskClient, make) -> None:
    admin = make.user(role_name="admin")
    headers = bearer(app, admin)
    for change in ({"role": "reader"}, {"active": False}):
        response = client.patch(f"/api/v1/users/{admin.username}", json=change, headers=headers)
        assert response.status_code == 403
        assert response.get_json()["error"]["message"] == accounts.LAST_ADMIN
    assert client.delete(f"/api/v1/users/{admin.username}", headers=headers).status_code == 403
    kept = reload(app, admin)
    assert (kept.role.name, kept.active) == ("admin", True)


def test_two_admins_demoting_each_other_leave_one(app: Flask, make) -> None:
    """Admin A acts on admin B while another request has just taken A's own admin rights
    away: A's loaded account still says admin, but the database has B as the last one."""
    first, second = make.user(role_name="admin"), make.user(role_name="admin")
    for action in (
        lambda a, b: accounts.set_role(a, b, "reader"),
        lambda a, b: accounts.set_active(a, b, False),
        lambda a, b: accounts.delete_user(a, b),
    ):
        with app.app_context():
            a, b = db.session.get_one(User, first.id), db.session.get_one(User, second.id)
            reader_role = accounts.role_named("reader")
            db.session.execute(
                update(User).where(User.id == a.id).values(role_id=reader_role.id),
                execution_options={"synchronize_session": False},
            )
            assert a.is_admin  # stale, as in a request that loaded it a moment earlier
            with pytest.raises(Forbidden, match="last active administrator"):
                action(a, b)
            db.session.rollback()


def test_admins_still_cannot_delete_themselves_here(app: Flask, make) -> None:
    with app.app_context():
        admin = UserFactory(role_name="admin")
        UserFactory(role_name="admin")
        with pytest.raises(Forbidden, match="own account"):
            accounts.delete_user(admin, admin)
