"""The storage interface and its local-folder backend, with real files."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from penpress.media.storage import LocalStorage, Storage, check_name, storage_for

NAME = "0123456789abcdef0123456789abcdef.jpg"


def test_local_storage_saves_opens_and_deletes(tmp_path: Path) -> None:
    storage: Storage = LocalStorage(tmp_path / "media")  # the folder is made on first save
    assert not storage.exists(NAME)
    storage.save(NAME, b"first")
    assert storage.exists(NAME)
    with storage.open(NAME) as stored:
        assert stored.read() == b"first"
    storage.save(NAME, b"second")  # whole or not at all, never appended
    with storage.open(NAME) as stored:
        assert stored.read() == b"second"
    # Readable by nginx's user, and no temporary file left beside it.
    mode = (tmp_path / "media" / NAME).stat().st_mode
    assert stat.S_IMODE(mode) == 0o644
    assert [p.name for p in (tmp_path / "media").iterdir()] == [NAME]
    storage.delete(NAME)
    storage.delete(NAME)  # twice is fine
    assert not storage.exists(NAME)
    with pytest.raises(FileNotFoundError):
        storage.open(NAME)


@pytest.mark.parametrize(
    "name",
    [
        "../secret.jpg",
        "../../etc/passwd",
        "/etc/passwd",
        "sub/0123456789abcdef0123456789abcdef.jpg",
        "0123456789abcdef0123456789abcdef.php",
        "0123456789ABCDEF0123456789ABCDEF.jpg",
        ".upload-x",
        "",
    ],
)
def test_only_names_the_media_service_makes_reach_the_disk(tmp_path: Path, name: str) -> None:
    storage = LocalStorage(tmp_path / "media")
    with pytest.raises(ValueError, match="not a media file name"):
        check_name(name)
    for use in (lambda: storage.save(name, b"x"), lambda: storage.open(name)):
        with pytest.raises(ValueError, match="not a media file name"):
            use()
    assert not (tmp_path / "secret.jpg").exists()


def test_resized_copies_have_names_of_their_own() -> None:
    assert check_name("0123456789abcdef0123456789abcdef-480w.webp")


def test_the_app_stores_in_its_media_folder(
    build_app: Callable[..., Flask], tmp_path: Path
) -> None:
    app = build_app(schema=False, MEDIA_FOLDER=str(tmp_path / "elsewhere"))
    storage = storage_for(app)
    assert isinstance(storage, LocalStorage)
    assert storage.root == tmp_path / "elsewhere"
    assert storage_for(app) is storage


def test_the_media_folder_defaults_to_the_instance_folder(app: Flask) -> None:
    assert app.config["MEDIA_FOLDER"] == str(Path(app.instance_path) / "media")
