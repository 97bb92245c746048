"""The site's generated stylesheet: the accent colour an administrator chose, as CSS custom
properties over the built-in ones.

The Content-Security-Policy allows styles from the site's own files only (``style-src
'self'``), so the colour cannot go into a ``style`` attribute or element: pages link
``/site.css?v=<version>`` instead, the version changing with the colour.
"""

from __future__ import annotations


def _mix(color: str, other: str, share: float) -> str:
    """``color`` with ``share`` (0..1) of ``other`` mixed in, both ``#rrggbb``."""
    channels = [
        round(int(color[i : i + 2], 16) * (1 - share) + int(other[i : i + 2], 16) * share)
        for i in (1, 3, 5)
    ]
    return "#" + "".join(f"{c:02x}" for c in channels)


def accent_stylesheet(accent: str | None) -> str:
    """CSS setting the accent (and its darker shade; lighter ones for the dark scheme)."""
    if not accent:
        return "/* The built-in colours: no accent colour is set. */\n"
    return (
        ":root {\n"
        f"  --color-accent: {accent};\n"
        f"  --color-accent-dark: {_mix(accent, '#000000', 0.25)};\n"
        "}\n"
        "@media (prefers-color-scheme: dark) {\n"
        "  :root {\n"
        f"    --color-accent: {_mix(accent, '#ffffff', 0.45)};\n"
        f"    --color-accent-dark: {_mix(accent, '#ffffff', 0.65)};\n"
        "  }\n"
        "}\n"
    )
