"""The Redis cache reads as empty while Redis is down, but never hides a failed invalidation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from penpress.caching import ResilientRedisCache
from tests.servers import RedisServer

pytestmark = pytest.mark.redis


@pytest.fixture
def cache(own_redis: RedisServer) -> Iterator[ResilientRedisCache]:
    import redis

    client = redis.Redis.from_url(own_redis.url(), socket_connect_timeout=1, socket_timeout=1)
    yield ResilientRedisCache(host=client, key_prefix="test:")
    own_redis.start()
    client.flushdb()
    client.close()


def test_values_round_trip_while_redis_is_up(cache: ResilientRedisCache) -> None:
    assert cache.set("a", {"n": 1})
    assert cache.get("a") == {"n": 1}
    assert cache.has("a")
    assert cache.get_many("a", "b") == [{"n": 1}, None]


def test_reads_and_writes_degrade_while_redis_is_down(
    cache: ResilientRedisCache, own_redis: RedisServer
) -> None:
    cache.set("a", 1)
    own_redis.stop()
    assert cache.get("a") is None
    assert cache.get_many("a", "b") == [None, None]
    assert cache.has("a") is False
    assert cache.set("a", 2) is False
    assert cache.add("b", 2) is False
    assert cache.set_many({"a": 1, "b": 2}) == []
    with pytest.raises(RedisConnectionError):
        cache.delete("a")  # a stale entry must not be left behind silently
