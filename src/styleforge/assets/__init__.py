"""Built-in images: public-domain style paintings and the CC BY 3.0 demo photo."""

from __future__ import annotations

__all__ = ["BUILTIN_CONTENT", "builtin_styles", "resolve_image"]

from pathlib import Path

from ..errors import InputError, suggest

_ROOT = Path(__file__).resolve().parent
BUILTIN_CONTENT = {"tubingen": _ROOT / "content" / "tubingen.jpg"}


def builtin_styles() -> dict[str, Path]:
    """Built-in style name → image path."""
    return {p.stem.replace("-", "_"): p for p in sorted((_ROOT / "styles").glob("*.jpg"))}


def resolve_image(name_or_path: str, *, kind: str = "style") -> Path:
    """A built-in name (``starry_night``) or a path → an existing image path."""
    p = Path(name_or_path)
    table = builtin_styles() if kind == "style" else BUILTIN_CONTENT
    key = name_or_path.replace("-", "_")
    if p.exists() and not (p.is_dir() and key in table):  # a run folder named like a style does not hide it
        return p
    if key in table:
        return table[key]
    if any(ch in name_or_path for ch in "/\\."):
        raise InputError(f"{kind} image not found: {name_or_path}")
    raise InputError(
        f"unknown built-in {kind} {name_or_path!r}{suggest(key, table)}; "
        f"built-in: {', '.join(table)} (or give a path to an image)"
    )
