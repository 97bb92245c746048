"""Configuration: environments, environment variables and refusing unsafe production setups."""

from __future__ import annotations

import pytest

from penpress import create_app
from penpress.config import InvalidConfiguration


def test_production_refuses_to_start_without_a_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("PENPRESS_CONFIG", "production")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    with pytest.raises(InvalidConfiguration, match="SECRET_KEY is not set"):
        create_app()


def test_production_refuses_a_short_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("PENPRESS_CONFIG", "production")
    monkeypatch.setenv("SECRET_KEY", "short")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    with pytest.raises(InvalidConfiguration, match="too short"):
        create_app()


def test_production_reads_the_environment_and_secures_cookies(monkeypatch, tmp_path):
    monkeypatch.setenv("PENPRESS_CONFIG", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@127.0.0.1:1/blog")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@127.0.0.1:1/blog"
    assert app.config["CORS_ORIGINS"] == ["https://a.example", "https://b.example"]
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_unknown_environment_name_is_explained(monkeypatch):
    monkeypatch.setenv("PENPRESS_CONFIG", "staging")
    with pytest.raises(InvalidConfiguration, match="not one of"):
        create_app()


def test_development_keeps_a_generated_secret_in_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("PENPRESS_CONFIG", "development")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'd.db'}")
    settings = {"ENV_NAME": "development"}
    first = create_app(settings)
    second = create_app(settings)
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 64


@pytest.mark.parametrize(("enabled", "limited"), [("false", False), ("true", True)])
def test_rate_limits_can_be_turned_off_from_the_environment(
    monkeypatch, tmp_path, enabled, limited
):
    """RATELIMIT_ENABLED=false (load tests, make bench) lifts every limit, login's included."""
    from penpress.accounts.services import ensure_roles
    from penpress.extensions import db

    monkeypatch.setenv("PENPRESS_CONFIG", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setenv("RATELIMIT_AUTH", "2 per minute")
    monkeypatch.setenv("RATELIMIT_ENABLED", enabled)
    app = create_app()
    assert app.config["RATELIMIT_ENABLED"] is limited
    with app.app_context():
        db.create_all()
        ensure_roles()
        db.session.commit()
    client = app.test_client()
    login = {"email": "nobody@example.com", "password": "wrong-password"}
    statuses = [client.post("/api/v1/auth/tokens", json=login).status_code for _ in range(4)]
    assert (429 in statuses) is limited
    assert statuses[0] == 401
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
