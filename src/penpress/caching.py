"""A Redis cache that treats an unreachable Redis as a cache miss.

Reads (``get``, ``get_many``, ``has``) answer "not cached" and writes of new entries (``set``,
``add``) are skipped while Redis is down, so pages keep working from the database. Removing
entries (``delete``, ``delete_many``, ``clear``) still raises: a change whose cache entry could
not be invalidated must fail (503, rolled back) rather than leave a stale entry for later.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask_caching.backends.rediscache import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

_UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


class ResilientRedisCache(RedisCache):
    """Flask-Caching's RedisCache, degrading to misses while Redis cannot be reached."""

    def _unreachable(self, operation: str, error: Exception) -> None:
        log.warning("cache %s skipped, Redis unreachable: %s", operation, type(error).__name__)

    def get(self, key: str) -> Any:
        try:
            return super().get(key)
        except _UNREACHABLE as error:
            self._unreachable("get", error)
            return None

    def get_many(self, *keys: str) -> list[Any]:
        try:
            return list(super().get_many(*keys))
        except _UNREACHABLE as error:
            self._unreachable("get_many", error)
            return [None] * len(keys)

    def has(self, key: str) -> bool:
        try:
            return bool(super().has(key))
        except _UNREACHABLE as error:
            self._unreachable("has", error)
            return False

    def set(self, key: str, value: Any, timeout: int | timedelta | None = None) -> Any:
        try:
            return super().set(key, value, timeout)
        except _UNREACHABLE as error:
            self._unreachable("set", error)
            return False

    def add(self, key: str, value: Any, timeout: int | timedelta | None = None) -> Any:
        try:
            return super().add(key, value, timeout)
        except _UNREACHABLE as error:
            self._unreachable("add", error)
            return False

    def set_many(
        self, mapping: dict[str, Any], timeout: int | timedelta | None = None
    ) -> list[Any]:
        try:
            return list(super().set_many(mapping, timeout))
        except _UNREACHABLE as error:
            self._unreachable("set_many", error)
            return []
