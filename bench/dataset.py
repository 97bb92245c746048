"""Data sets for the benchmark: built once with ``flask seed-db``, cached under bench/data/.

A cached SQLite file is keyed by its size, the schema's migration head and a hash of the
loader's source, so a schema or loader change builds a new one. Each run serves a copy: the
post page counts views and the write mix adds posts, and neither may change the next run.
PostgreSQL data sets are loaded fresh into each run's throwaway server (COPY makes that quick).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.server import BIN, ROOT

DATA_DIR = ROOT / "bench" / "data"


def migration_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from penpress.database import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return "+".join(sorted(ScriptDirectory.from_config(config).get_heads()))


def loader_hash() -> str:
    from penpress import seeding

    digest = hashlib.sha256()
    for path in sorted(Path(seeding.__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def cache_key(posts: int) -> str:
    return f"{posts}-{migration_head()}-{loader_hash()}"


@dataclass
class DataSet:
    posts: int
    key: str
    built_now: bool
    seed_seconds: float
    built_at: str
    seed_output: str
    path: Path | None = None  # the cached SQLite file

    def as_dict(self) -> dict[str, object]:
        return {
            "posts": self.posts,
            "key": self.key,
            "built_now": self.built_now,
            "seed_seconds": round(self.seed_seconds, 1),
            "built_at": self.built_at,
            "seed_output": self.seed_output,
        }


def seed(env: dict[str, str], posts: int) -> tuple[float, str]:
    """Migrate and bulk-load ``posts`` posts into ``env['DATABASE_URL']``; seconds taken."""
    flask = [str(BIN / "flask"), "--app", "penpress"]
    subprocess.run([*flask, "init-db"], env=env, check=True, capture_output=True, cwd=ROOT)
    started = time.perf_counter()
    result = subprocess.run(
        [*flask, "seed-db", "--posts", str(posts)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return time.perf_counter() - started, result.stdout.strip()


def sqlite_data_set(posts: int, env: dict[str, str], *, rebuild: bool = False) -> DataSet:
    """The cached SQLite file for ``posts``, built first if missing (or ``rebuild``)."""
    key = cache_key(posts)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"penpress-{key}.db"
    meta_path = path.with_suffix(".json")
    if rebuild:
        path.unlink(missing_ok=True)
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        return DataSet(
            posts, key, False, meta["seed_seconds"], meta["built_at"], meta["seed_output"], path
        )
    building = DATA_DIR / f".building-{key}-{os.getpid()}.db"
    building.unlink(missing_ok=True)
    try:
        seconds, output = seed({**env, "DATABASE_URL": f"sqlite:///{building}"}, posts)
        for suffix in ("-wal", "-shm"):  # a clean close leaves none; never keep stale ones
            Path(f"{building}{suffix}").unlink(missing_ok=True)
        building.rename(path)
    finally:
        building.unlink(missing_ok=True)
    data = DataSet(
        posts, key, True, seconds, datetime.now(UTC).isoformat(timespec="seconds"), output, path
    )
    meta_path.write_text(json.dumps(data.as_dict(), indent=2) + "\n")
    return data


def working_copy(data: DataSet, folder: Path) -> Path:
    """A copy of the cached file for one run to serve (and write to)."""
    assert data.path is not None
    copy = folder / "bench.db"
    shutil.copyfile(data.path, copy)
    return copy


def postgres_data_set(posts: int, env: dict[str, str]) -> DataSet:
    seconds, output = seed(env, posts)
    return DataSet(
        posts,
        cache_key(posts),
        True,
        seconds,
        datetime.now(UTC).isoformat(timespec="seconds"),
        output,
    )
