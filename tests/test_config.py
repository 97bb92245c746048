"""Configuration: environments, environment variables and refusing unsafe production setups.

Apps here are built from the environment, as ``gunicorn 'penpress:create_app()'`` builds them,
so each test works in a folder of its own: nothing reaches the repository's ``instance/`` or a
developer's ``.env``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from penpress import create_app
from penpress.config import InvalidConfiguration

SECRET = "x" * 64


@pytest.fixture(autouse=True)
def _own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PENPRESS_INSTANCE_PATH", str(tmp_path / "instance"))
    # These apps are not test apps, so their first request would start the periodic jobs'
    # thread (the outbox sweep), outliving the test; their instance config turns it off.
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.py").write_text("PERIODIC_JOBS_IN_PROCESS = False\n")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    for name in ("SECRET_KEY", "SITE_URL", "TRUSTED_HOSTS"):
        monkeypatch.delenv(name, raising=False)


def production(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    monkeypatch.setenv("PENPRESS_CONFIG", "production")
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    production(monkeypatch, SITE_URL="https://blog.example.com")
    with pytest.raises(InvalidConfiguration, match="SECRET_KEY is not set"):
        create_app()


def test_production_refuses_a_short_secret_key(monkeypatch):
    production(monkeypatch, SECRET_KEY="short", SITE_URL="https://blog.example.com")
    with pytest.raises(InvalidConfiguration, match="too short"):
        create_app()


def test_production_refuses_to_start_without_a_site_url(monkeypatch):
    production(monkeypatch, SECRET_KEY=SECRET)
    with pytest.raises(InvalidConfiguration, match="SITE_URL is not set"):
        create_app()


@pytest.mark.parametrize("url", ["blog.example.com", "ftp://blog.example.com", "https://"])
def test_a_site_url_must_be_an_http_address_with_a_host(monkeypatch, url):
    production(monkeypatch, SECRET_KEY=SECRET, SITE_URL=url)
    with pytest.raises(InvalidConfiguration, match="must be an http"):
        create_app()


def test_production_answers_only_to_its_own_host(monkeypatch):
    production(monkeypatch, SECRET_KEY=SECRET, SITE_URL="https://blog.example.com")
    app = create_app()
    assert app.config["TRUSTED_HOSTS"] == ["blog.example.com", "localhost", "127.0.0.1", "::1"]
    client = app.test_client()
    assert client.get("/healthz", base_url="https://blog.example.com").status_code == 200
    assert client.get("/healthz", base_url="http://localhost:8000").status_code == 200
    assert client.get("/healthz", base_url="https://evil.example").status_code == 400


def test_trusted_hosts_can_be_set_outright(monkeypatch):
    production(
        monkeypatch,
        SECRET_KEY=SECRET,
        SITE_URL="https://blog.example.com",
        TRUSTED_HOSTS="blog.example.com, www.blog.example.com",
    )
    app = create_app()
    assert app.config["TRUSTED_HOSTS"] == ["blog.example.com", "www.blog.example.com"]
    assert app.test_client().get("/healthz", base_url="http://localhost").status_code == 400


def test_production_reads_the_environment_and_secures_cookies(monkeypatch):
    production(
        monkeypatch,
        SECRET_KEY=SECRET,
        SITE_URL="https://blog.example.com",
        DATABASE_URL="postgres://u:p@127.0.0.1:1/blog",
        CORS_ORIGINS="https://a.example, https://b.example",
    )
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
    first = create_app()
    second = create_app()
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 64
    assert (tmp_path / "instance" / "secret_key").read_text() == first.config["SECRET_KEY"]
    assert first.instance_path == str(tmp_path / "instance")


def test_the_instance_folder_is_instance_in_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("PENPRESS_INSTANCE_PATH")
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.setenv("PENPRESS_CONFIG", "development")
    app = create_app()
    assert app.instance_path == str(tmp_path / "instance")
    database = tmp_path / "instance" / "penpress.db"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{database}"
    assert app.config["MAIL_FILE_PATH"] == str(tmp_path / "instance" / "outbox")


def test_development_links_point_to_the_local_server_unless_told(monkeypatch):
    monkeypatch.setenv("PENPRESS_CONFIG", "development")
    monkeypatch.setenv("PORT", "5123")
    assert create_app().config["SITE_URL"] == "http://127.0.0.1:5123"
    monkeypatch.setenv("SITE_URL", "https://blog.example.com")
    assert create_app().config["SITE_URL"] == "https://blog.example.com"


def test_a_dotenv_file_in_the_working_directory_is_read(monkeypatch, tmp_path):
    monkeypatch.setenv("PENPRESS_CONFIG", "development")
    (tmp_path / ".env").write_text("SITE_URL=https://from-dotenv.example\n")
    monkeypatch.setenv("SITE_URL", "set by this test")  # so the variable is removed afterwards
    monkeypatch.delenv("SITE_URL")
    app = create_app()
    assert app.config["SITE_URL"] == "https://from-dotenv.example"


def test_a_test_app_ignores_the_dotenv_file(monkeypatch, tmp_path):
    """A developer's .env (a real SITE_URL, REDIS_URL, mail server) never reaches the tests."""
    (tmp_path / ".env").write_text(
        "SITE_URL=https://from-dotenv.example\nPENPRESS_DOTENV_PROBE=leaked\n"
    )
    monkeypatch.delenv("SITE_URL", raising=False)
    app = create_app({"TESTING": True, "ENV_NAME": "testing"})
    assert app.config["SITE_URL"] != "https://from-dotenv.example"
    assert "PENPRESS_DOTENV_PROBE" not in os.environ


def test_the_instance_folders_config_file_is_read_and_the_environment_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("PENPRESS_CONFIG", "development")
    (tmp_path / "instance").mkdir(exist_ok=True)
    (tmp_path / "instance" / "config.py").write_text(
        'PERIODIC_JOBS = {"penpress.outbox.sweep": 2}\nOUTBOX_LEASE = 10\nPOSTS_PER_PAGE = 7\n'
    )
    monkeypatch.setenv("POSTS_PER_PAGE", "9")
    app = create_app()
    assert app.config["PERIODIC_JOBS"] == {"penpress.outbox.sweep": 2}
    assert app.config["OUTBOX_LEASE"] == 10
    assert app.config["POSTS_PER_PAGE"] == 9
    assert "CONFIGS" not in app.config  # penpress/config.py itself is not read as settings


@pytest.mark.parametrize(("enabled", "limited"), [("false", False), ("true", True)])
def test_rate_limits_can_be_turned_off_from_the_environment(monkeypatch, enabled, limited):
    """RATELIMIT_ENABLED=false (load tests, make bench) lifts every limit, login's included."""
    from penpress.accounts.services import ensure_roles
    from penpress.extensions import db

    production(
        monkeypatch,
        SECRET_KEY=SECRET,
        SITE_URL="https://blog.example.com",
        RATELIMIT_AUTH="2 per minute",
        RATELIMIT_ENABLED=enabled,
    )
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


def test_search_rank_window_comes_from_the_environment_and_must_be_positive(monkeypatch):
    monkeypatch.setenv("SEARCH_RANK_WINDOW", "500")
    assert create_app().config["SEARCH_RANK_WINDOW"] == 500
    monkeypatch.setenv("SEARCH_RANK_WINDOW", "0")
    with pytest.raises(InvalidConfiguration, match="SEARCH_RANK_WINDOW"):
        create_app()
