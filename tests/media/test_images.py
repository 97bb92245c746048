"""Cleaning uploaded images with Pillow: real images made here, read back with Pillow."""

from __future__ import annotations

import pytest
from PIL import ExifTags, Image

from penpress.media.images import (
    DAMAGED,
    NOT_AN_IMAGE,
    CleanImage,
    ImageRefused,
    clean_image,
    too_many_pixels,
)
from tests import images

MAX_PIXELS = 40_000_000
WIDTHS = (480, 960, 1600)


def clean(data: bytes, max_pixels: int = MAX_PIXELS) -> CleanImage:
    return clean_image(data, max_pixels=max_pixels, widths=WIDTHS)


def test_a_photo_loses_its_gps_position_and_every_other_metadata() -> None:
    photo = images.photo_with_gps()
    assert images.gps_of(photo)  # the test image really carries a position
    cleaned = clean(photo)
    for data in (cleaned.data, *(version.data for version in cleaned.resized.values())):
        stored = images.opened(data)
        assert images.gps_of(data) == {}
        assert dict(stored.getexif()) == {}  # no camera, no orientation, nothing
        assert "comment" not in stored.info
        assert "exif" not in stored.info
        assert "icc_profile" not in stored.info
        assert "xmp" not in stored.info


def test_the_orientation_is_applied_to_the_pixels() -> None:
    # Orientation 6: the stored 2000x1000 pixels are shown turned 90° clockwise.
    cleaned = clean(images.photo_with_gps(size=(2000, 1000), orientation=6))
    assert (cleaned.width, cleaned.height) == (1000, 2000)
    upright = images.opened(cleaned.data).convert("RGB")
    assert upright.size == (1000, 2000)
    # The left half (red) is now on top, the right half (blue) at the bottom.
    red, blue = upright.getpixel((500, 100)), upright.getpixel((500, 1900))
    assert (red[0] > 200, red[2] < 60) == (True, True), red
    assert (blue[2] > 200, blue[0] < 60) == (True, True), blue


def test_resized_copies_are_made_for_each_width_narrower_than_the_image() -> None:
    cleaned = clean(images.png(size=(1200, 800)))
    assert cleaned.format == "PNG"
    assert cleaned.content_type == "image/png"
    assert sorted(cleaned.resized) == [480, 960]  # no 1600: never made larger
    for width, version in cleaned.resized.items():
        assert images.opened(version.data).size == (width, round(800 * width / 1200))
        assert (version.width, version.height) == images.opened(version.data).size
    small = clean(images.png(size=(300, 200)))
    assert small.resized == {}
    assert (small.width, small.height) == (300, 200)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (images.photo_with_gps(), "JPEG"),
        (images.png(mode="RGBA"), "PNG"),
        (images.webp(), "WEBP"),
        (images.animated_gif(), "GIF"),
    ],
    ids=["jpeg", "png", "webp", "gif"],
)
def test_each_allowed_format_stays_its_format(data: bytes, kind: str) -> None:
    cleaned = clean(data)
    assert cleaned.format == kind
    assert images.opened(cleaned.data).format == kind
    for version in cleaned.resized.values():
        assert images.opened(version.data).format == kind


def test_transparency_is_kept() -> None:
    cleaned = clean(images.png(size=(1000, 500), mode="RGBA"))
    assert images.opened(cleaned.data).mode == "RGBA"
    assert images.opened(cleaned.resized[480].data).mode == "RGBA"


def test_an_animated_gif_stays_animated_without_its_comment() -> None:
    cleaned = clean(images.animated_gif(size=(600, 300), frames=4))
    assert cleaned.frames == 4
    for data in (cleaned.data, cleaned.resized[480].data):
        animation = images.opened(data)
        assert animation.n_frames == 4
        assert "comment" not in animation.info
    assert images.opened(cleaned.resized[480].data).size == (480, 240)


def test_colours_are_converted_to_srgb_and_the_profile_dropped() -> None:
    source = images.with_icc_profile()
    assert "icc_profile" in images.opened(source).info
    cleaned = images.opened(clean(source).data)
    assert "icc_profile" not in cleaned.info
    assert cleaned.convert("RGB").getpixel((10, 10))[0] > 200  # still red


@pytest.mark.parametrize(
    "data",
    [images.SCRIPT, images.SVG, b"", b"GIF89a", images.encode(images.two_colour((50, 50)), "BMP")],
    ids=["script", "svg", "empty", "gif-header-only", "bmp"],
)
def test_anything_but_an_allowed_image_is_refused(data: bytes) -> None:
    with pytest.raises(ImageRefused) as refused:
        clean(data)
    assert str(refused.value) in (NOT_AN_IMAGE, DAMAGED)


def test_a_truncated_image_is_refused_as_damaged() -> None:
    photo = images.photo_with_gps()
    with pytest.raises(ImageRefused, match=DAMAGED):
        clean(photo[: len(photo) // 2])


def test_more_pixels_than_allowed_are_refused_before_decoding() -> None:
    # 8000 x 6000 = 48 megapixels: over our 40, under Pillow's own warning.
    with pytest.raises(ImageRefused, match="too large"):
        clean(images.png_claiming(8000, 6000))
    assert str(too_many_pixels(MAX_PIXELS)).endswith("at most 40 megapixels are accepted.")


def test_a_decompression_bomb_is_refused_by_pillow_too() -> None:
    # 100,000 x 100,000 pixels claimed in a few bytes: past Image.MAX_IMAGE_PIXELS * 2,
    # so Pillow itself raises, even with our own limit set out of the way.
    bomb = images.png_claiming(100_000, 100_000)
    assert len(bomb) < 200
    assert 2 * Image.MAX_IMAGE_PIXELS < 100_000 * 100_000
    with pytest.raises(ImageRefused, match="too large"):
        clean(bomb, max_pixels=10**12)


def test_an_animation_counts_the_pixels_of_every_frame() -> None:
    gif = images.animated_gif(size=(600, 300), frames=4)  # 720,000 pixels together
    with pytest.raises(ImageRefused, match="too large"):
        clean(gif, max_pixels=600 * 300 * 3)
    assert clean(gif, max_pixels=600 * 300 * 4).frames == 4


def test_exif_orientation_tags_are_all_understood() -> None:
    for orientation in range(1, 9):
        cleaned = clean(images.photo_with_gps(size=(200, 100), orientation=orientation))
        expected = (100, 200) if orientation >= 5 else (200, 100)
        assert (cleaned.width, cleaned.height) == expected, orientation
        assert ExifTags.Base.Orientation not in images.opened(cleaned.data).getexif()
