"""Checking, cleaning and resizing uploaded images with Pillow: bytes in, bytes out.

An upload is trusted for nothing: its format is what Pillow recognises in its content (never
its name or declared type), and only JPEG, PNG, WebP and GIF are opened at all. Its size in
pixels is checked from the header before anything is decoded (decompression bombs), then the
image is decoded and written again from its pixels alone: EXIF (with any GPS position), XMP,
comments and colour profiles are left behind, the EXIF orientation is applied to the pixels
first, and colours are converted to sRGB. Animations (GIF, WebP, APNG) stay animated, frame by
frame; a camera's multi-picture JPEG (MPO) keeps its main picture.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from io import BytesIO

from PIL import Image, ImageCms, ImageOps, ImageSequence, UnidentifiedImageError

from penpress.media.models import scaled_height

log = logging.getLogger(__name__)

# Pillow format -> (content type, file extension). Nothing else is even tried.
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
}
# Cameras write JPEGs with extra pictures in them (depth maps, previews), which Pillow opens as
# MPO when asked for JPEG: the main picture is kept.
_SAME_AS = {"MPO": "JPEG"}
# The pixel modes each format is written in; others are converted to RGB(A).
_MODES = {
    "JPEG": ("RGB", "L"),
    "WEBP": ("RGB", "RGBA"),
    "PNG": ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"),
    "GIF": ("P", "L", "RGB", "RGBA"),
}
MAX_FRAMES = 1000  # of an animation, whatever their size

NOT_AN_IMAGE = "The file is not a JPEG, PNG, WebP or GIF image."
DAMAGED = "The image is damaged or incomplete."

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class ImageRefused(Exception):
    """The upload is not an image we take; the message says why, for the uploader."""


@dataclass(frozen=True)
class Version:
    """One encoded version of an image."""

    width: int
    height: int
    data: bytes


@dataclass(frozen=True)
class CleanImage:
    """An upload decoded and written again: the whole image, and its resized copies by width
    (only widths narrower than the image)."""

    format: str
    width: int
    height: int
    data: bytes
    resized: dict[int, Version] = field(default_factory=dict)
    frames: int = 1

    @property
    def content_type(self) -> str:
        return FORMATS[self.format][0]

    @property
    def extension(self) -> str:
        return FORMATS[self.format][1]


def too_many_pixels(max_pixels: int) -> str:
    return f"The image is too large: at most {max_pixels / 1_000_000:g} megapixels are accepted."


def clean_image(data: bytes, *, max_pixels: int, widths: Iterable[int]) -> CleanImage:
    """``data`` re-encoded without metadata, with resized copies ``widths`` wide.

    Raises :class:`ImageRefused` for anything that is not an allowed image, is damaged, or
    has more than ``max_pixels`` pixels (all frames of an animation together).
    """
    wanted = sorted({int(width) for width in widths if int(width) > 0})
    with warnings.catch_warnings():
        # Pillow's own bomb check warns past Image.MAX_IMAGE_PIXELS: a refusal here too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(BytesIO(data), formats=list(FORMATS)) as image:
                return _clean(image, max_pixels, wanted)
        except ImageRefused:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRefused(too_many_pixels(max_pixels)) from None
        except UnidentifiedImageError:
            raise ImageRefused(NOT_AN_IMAGE) from None
        except Exception as error:  # noqa: BLE001  (hostile input breaks decoders in many ways)
            log.info("an uploaded image could not be decoded: %r", error)
            raise ImageRefused(DAMAGED) from None


def _clean(image: Image.Image, max_pixels: int, widths: list[int]) -> CleanImage:
    kind = _SAME_AS.get(str(image.format), str(image.format))
    if kind not in FORMATS:
        raise ImageRefused(NOT_AN_IMAGE)
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageRefused(DAMAGED)
    animated = bool(getattr(image, "is_animated", False)) and kind != "JPEG"
    frames = int(getattr(image, "n_frames", 1)) if animated else 1
    # From the header alone, before a pixel is decoded.
    if frames > MAX_FRAMES or width * height * frames > max_pixels:
        raise ImageRefused(too_many_pixels(max_pixels))
    if frames > 1:
        return _clean_animation(image, kind, frames, widths)
    image.load()
    ImageOps.exif_transpose(image, in_place=True)  # no copy of the pixels: this one is ours
    still = _pixels_only(_to_srgb(image), kind)
    width, height = still.size
    resized: dict[int, Version] = {}
    source = _resizable(still)
    for new_width in (w for w in widths if w < width):
        new_height = scaled_height(width, height, new_width)
        smaller = _pixels_only(_resized(source, new_width, new_height), kind)
        resized[new_width] = Version(new_width, new_height, _encode([smaller], kind))
    return CleanImage(kind, width, height, _encode([still], kind), resized)


def _clean_animation(image: Image.Image, kind: str, frames: int, widths: list[int]) -> CleanImage:
    """Every frame as RGBA pixels (Pillow composes each one whole), encoded again."""
    width, height = image.size
    loop = int(image.info.get("loop", 0))
    pictures: list[Image.Image] = []
    durations: list[int] = []
    for frame in ImageSequence.Iterator(image):
        durations.append(int(frame.info.get("duration") or 100))
        picture = frame.convert("RGBA")
        picture.info = {}  # the comment and extensions stay behind
        pictures.append(picture)
    timing = {"duration": durations, "loop": loop}
    resized: dict[int, Version] = {}
    for new_width in (w for w in widths if w < width):
        new_height = scaled_height(width, height, new_width)
        smaller = [_resized(p, new_width, new_height) for p in pictures]
        resized[new_width] = Version(new_width, new_height, _encode(smaller, kind, **timing))
    return CleanImage(kind, width, height, _encode(pictures, kind, **timing), resized, frames)


def _resized(image: Image.Image, width: int, height: int) -> Image.Image:
    smaller = image.resize((width, height), Image.Resampling.LANCZOS)
    smaller.info = {}
    return smaller


def _to_srgb(image: Image.Image) -> Image.Image:
    """Colours converted from the image's embedded profile to sRGB (what browsers assume)."""
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(BytesIO(profile))
        output = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=output)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image  # a broken profile: the pixels as they are
    assert converted is not None
    return converted


def _pixels_only(image: Image.Image, kind: str) -> Image.Image:
    """``image`` in a mode ``kind`` can store, with nothing in ``info`` but its transparency,
    so the encoder has no metadata to copy. (Its ``info`` is replaced: the images given here
    are this module's own.)"""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if image.mode not in _MODES[kind]:
        image = image.convert("RGBA" if has_alpha and kind != "JPEG" else "RGB")
    kept: dict[str | tuple[int, int], object] = {}
    if "transparency" in image.info and kind != "JPEG":
        kept["transparency"] = image.info["transparency"]
    image.info = kept
    return image


def _resizable(image: Image.Image) -> Image.Image:
    """``image`` in a mode Pillow resizes smoothly (palettes and 1-bit only resize coarsely)."""
    if image.mode in ("RGB", "RGBA", "L", "LA"):
        return image
    has_alpha = image.mode == "PA" or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _encode(frames: list[Image.Image], kind: str, **animation: object) -> bytes:
    output = BytesIO()
    first, rest = frames[0], frames[1:]
    options: dict[str, object] = {}
    if rest:
        options = {"save_all": True, "append_images": rest, **animation}
        if kind == "GIF":
            options["disposal"] = 2  # whole frames with transparency: clear before the next
    if kind == "JPEG":
        options.update(quality=85, optimize=True, progressive=True)
    elif kind == "WEBP":
        options.update(quality=82)
    elif kind == "GIF":
        options.update(optimize=False)
    first.save(output, kind, **options)
    return output.getvalue()
