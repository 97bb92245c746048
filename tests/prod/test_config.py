"""Production settings from the environment: database URL, Redis wiring, proxy counts."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from penpress import config


def _app(tmp_path: Path, name: str = "production", **settings: object) -> Flask:
    app = Flask("penpress", instance_path=str(tmp_path))
    app.config.from_object(config.config_class(name))
    app.config.update(SECRET_KEY="k" * 40, SITE_URL="https://blog.example.com", **settings)
    return app


def test_environment_selects_postgresql_and_proxy_counts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://blog:pw@db.internal:5432/blog")
    monkeypatch.setenv("PROXY_FIX_X_FOR", "2")
    monkeypatch.setenv("DATABASE_CONNECT_TIMEOUT", "3")
    app = _app(tmp_path)
    config.load_environment(app)
    config.finalise(app)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == (
        "postgresql+psycopg://blog:pw@db.internal:5432/blog"
    )
    assert app.config["PROXY_FIX_X_FOR"] == 2
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_pre_ping"] is True
    assert options["connect_args"] == {"connect_timeout": 3}
    assert "connect_args" not in config.Config.SQLALCHEMY_ENGINE_OPTIONS  # default untouched


def test_redis_url_moves_cache_and_rate_limits_to_redis(tmp_path: Path) -> None:
    app = _app(tmp_path, REDIS_URL="redis://cache.internal:6379/2")
    config.finalise(app)
    settings = app.config
    assert settings["CACHE_TYPE"] == "penpress.caching.ResilientRedisCache"
    assert settings["CACHE_REDIS_URL"] == "redis://cache.internal:6379/2"
    assert settings["CACHE_REDIS_DB"] == 2
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://cache.internal:6379/2"
    assert settings["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] is True
    assert settings["RATELIMIT_STORAGE_OPTIONS"]["socket_timeout"] == 1.0


def test_without_redis_everything_stays_in_process(tmp_path: Path) -> None:
    app = _app(tmp_path)
    config.finalise(app)
    assert app.config["CACHE_TYPE"] == "SimpleCache"
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
