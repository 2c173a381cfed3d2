"""Image and file I/O: robust loading, tensor conversion, atomic writes.

Everything that reads a user's image goes through :func:`load_image`, so every
command shares the same handling of EXIF rotation, colour profiles (a phone's
Display P3, a camera's Adobe RGB, a print CMYK: converted to sRGB, as viewers
show them), HEIC phone photos, CMYK, alpha, 16-bit and grayscale images, and the
same one-line errors for files that are not images.
"""

from __future__ import annotations

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_PIXELS",
    "PNG_COMPRESS_LEVEL",
    "array_to_pil",
    "atomic_path",
    "check_output_path",
    "image_from_bytes",
    "list_images",
    "load_image",
    "load_input",
    "load_mask",
    "pil_to_array",
    "pil_to_tensor",
    "png_bytes",
    "register_heif",
    "resize_max_side",
    "save_image",
    "tensor_to_pil",
]

import contextlib
import io
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import InputError

if TYPE_CHECKING:  # torch is imported where tensors are made, so image I/O alone stays light
    import torch

IMAGE_EXTENSIONS = (
    ".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".gif", ".heic", ".heif", ".avif"
)  # fmt: skip
#: Largest image (in pixels) that is decoded at all: 8k × 8k.  Larger files are
#: refused before decoding (decompression-bomb guard).
MAX_PIXELS = 8192 * 8192
#: zlib level of every PNG written (Pillow's default is 6).  A stylised picture is mostly brush
#: texture, which compresses little either way: ``styleforge instant``'s 512 and 1024 px outputs
#: were written 1.5× faster at level 3 (25 ms instead of 38, 103 instead of 152) for 3 % more bytes.
PNG_COMPRESS_LEVEL = 3
_UMASK = os.umask(0o022)  # read once (os.umask can only be read by setting it)
os.umask(_UMASK)


def _to_rgb(img: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB; alpha is flattened onto ``background``."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if arr.max() > 255 else 255.0
        arr = np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        img = Image.fromarray(arr, mode="L")
    elif mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        scale = 255.0 if arr.max() <= 1.0 else 1.0
        img = Image.fromarray(np.clip(arr * scale + 0.5, 0, 255).astype(np.uint8), mode="L")
    elif mode in ("RGBA;16", "RGB;16") or img.getbands() and mode.endswith(";16"):
        img = img.convert("RGBA")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        base = Image.new("RGB", rgba.size, background)
        base.paste(rgba, mask=rgba.getchannel("A"))
        return base
    if img.mode == "CMYK":
        return img.convert("RGB")
    if img.mode != "RGB":
        return img.convert("RGB")
    return img


@lru_cache(maxsize=1)
def register_heif() -> bool:
    """Let PIL open HEIC/HEIF phone photos (pillow-heif, in the ``web`` extra); False without it."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def _to_srgb(img: Image.Image) -> Image.Image:
    """``img`` converted from its embedded ICC profile to sRGB (relative colorimetric, as browsers and
    viewers show it); as it is without a profile, with an sRGB one, or with one that lcms cannot read.

    Read as sRGB, a phone's Display P3 photo lost saturation (its reds and greens lie outside sRGB's
    values), a camera's Adobe RGB photo more, and a print CMYK file came out in Pillow's naive
    inversion.  Alpha is kept.
    """
    icc = img.info.get("icc_profile")
    if not icc or img.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return img
    from PIL import ImageCms

    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in (ImageCms.getProfileDescription(src) or "").lower().replace(" ", ""):
            return img
        base = img.convert("RGB") if img.mode == "RGBA" else img
        out = ImageCms.profileToProfile(
            base,
            src,
            ImageCms.createProfile("sRGB"),
            renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
            outputMode="RGB",
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return img  # a broken or unsupported profile: the values as they are
    if out is None:
        return img
    if img.mode == "RGBA":
        out.putalpha(img.getchannel("A"))
    return out


def _open(path: str | os.PathLike[str], what: str, max_pixels: int) -> Image.Image:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} not found: {p}")
    if p.is_dir():
        raise InputError(f"{what} is a folder, not an image: {p}")
    try:
        with open(p, "rb") as f:
            head = f.read(12)
    except OSError as e:
        raise InputError(f"{what} {p} is unreadable ({e.strerror or e})") from None
    return _decode(p, f"{what} {p}", max_pixels, heic=_is_heif(head) or p.suffix.lower() in (".heic", ".heif"))


def _is_heif(head: bytes) -> bool:
    """Whether a file's first 12 bytes are a HEIF ``ftyp`` box (a phone's HEIC photo)."""
    return head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"heif", b"mif1", b"msf1", b"hevc", b"heim")


def _decode(source: Path | io.BytesIO, label: str, max_pixels: int, *, heic: bool = False) -> Image.Image:
    """Open and decode ``source`` (errors name it ``label``); ``heic``: it looks like a HEIC photo (pillow-heif
    is imported for those only: it adds 23 ms to every command's start)."""
    if heic:
        register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Pillow's own bomb check (its global MAX_IMAGE_PIXELS) stays as it is: setting that global
            # per call raced between threads (the web page decodes uploads concurrently) and could leave
            # it lowered for everyone.  ``max_pixels`` is checked here, from the header, before decoding.
            img = Image.open(source)
            w, h = img.size
            if w * h > max_pixels:
                raise InputError(
                    f"{label} is too large ({w}×{h} = {w * h / 1e6:.0f} MP; the limit is {max_pixels / 1e6:.0f} MP)"
                )
            img.load()
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(f"{label} is too large to decode safely (decompression bomb?)") from None
    except UnidentifiedImageError:
        if heic and not register_heif():
            raise InputError(f"{label} is a HEIC photo: install pillow-heif (pip install 'styleforge[web]')") from None
        raise InputError(f"{label} is not an image (unrecognised format)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise InputError(f"{label} is unreadable or truncated ({e})") from None
    return img


def _prepared(img: Image.Image) -> Image.Image:
    """A decoded image upright (EXIF), in sRGB (its profile) and 8-bit RGB."""
    try:
        img = ImageOps.exif_transpose(img) or img
    except Exception:  # a broken EXIF block is not worth refusing the image
        pass
    return _to_rgb(_to_srgb(img))


_PHOTOS = ("image", "photo", "content image")  # what a command paints (an animated one could be a clip)


def load_image(
    path: str | os.PathLike[str],
    *,
    what: str = "image",
    max_pixels: int = MAX_PIXELS,
) -> Image.Image:
    """Load any image as 8-bit sRGB, applying its EXIF orientation and its colour profile.

    CMYK, palette, 16-bit, grayscale and alpha images are converted (alpha is
    flattened onto white); an embedded ICC profile other than sRGB is converted to
    sRGB.  Raises :class:`InputError` with one clear line for missing, non-image,
    truncated or oversized files.
    """
    img = _open(path, what, max_pixels)
    if getattr(img, "is_animated", False):
        hint = f" (styleforge video {path} … -o out.gif stylises every frame)" if what in _PHOTOS else ""
        logging.getLogger("styleforge").info("the %s %s is animated: its first frame is used%s", what, path, hint)
    return _prepared(img)


def image_from_bytes(data: bytes, *, what: str = "image", max_pixels: int = MAX_PIXELS) -> Image.Image:
    """:func:`load_image` for an upload's bytes: the same handling, errors naming "the ``what`` upload"."""
    return _prepared(_decode(io.BytesIO(data), f"the {what} upload", max_pixels, heic=_is_heif(data[:12])))


def load_mask(path: str | os.PathLike[str], size: tuple[int, int] | None = None, *, what: str = "mask") -> torch.Tensor:
    """Load a grayscale mask as a ``(1, 1, H, W)`` float tensor in [0, 1].

    Args:
        size: ``(width, height)`` the mask must match (a mask of another size
            with the same aspect ratio, within rounding, is resized; otherwise
            :class:`InputError`).
    """
    img = _open(path, what, MAX_PIXELS)
    img = ImageOps.exif_transpose(img) or img
    img = _to_rgb(img).convert("L")
    if size is not None and img.size != tuple(size):
        w, h = img.size
        tw, th = size
        if abs(w / h - tw / th) > 0.02:
            raise InputError(
                f"{what} {path} is {w}×{h} but its image is {tw}×{th}: the mask must have the "
                f"image's size (or at least its aspect ratio)"
            )
        img = img.resize((tw, th), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.float32) / 255.0
    import torch

    return torch.from_numpy(arr)[None, None]


def resize_max_side(img: Image.Image, size: int) -> Image.Image:
    """Resize so the long side is ``size`` (LANCZOS), keeping the aspect ratio."""
    w, h = img.size
    scale = size / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    if (nw, nh) == (w, h):
        return img
    return img.resize((nw, nh), Image.Resampling.LANCZOS)


def pil_to_array(img: Image.Image) -> np.ndarray:
    """RGB PIL image → ``(1, 3, H, W)`` float32 array in [0, 1]."""
    arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    return np.ascontiguousarray(arr.transpose(2, 0, 1)[None])


def array_to_pil(arr: np.ndarray) -> Image.Image:
    """``(1, 3, H, W)`` or ``(3, H, W)`` float array in [0, 1] → RGB PIL image (rounded to nearest)."""
    if arr.ndim == 4:
        arr = arr[0]
    out = (np.clip(arr.transpose(1, 2, 0), 0, 1) * 255.0 + 0.5).astype(np.uint8)
    return Image.fromarray(out, mode="RGB")


def pil_to_tensor(img: Image.Image) -> torch.Tensor:
    """RGB PIL image → ``(1, 3, H, W)`` float32 tensor in [0, 1]."""
    import torch

    return torch.from_numpy(pil_to_array(img))


def tensor_to_pil(x: torch.Tensor) -> Image.Image:
    """``(1, 3, H, W)`` or ``(3, H, W)`` tensor in [0, 1] → RGB PIL image."""
    return array_to_pil(x.detach().float().cpu().numpy())


def _extensions(ext: str) -> dict[str, str]:
    """Pillow's extension → format table, with every plugin loaded only when ``ext`` is not one of the
    common formats (``Image.registered_extensions`` imports all ~40 plugins: ≈ 30 ms of a 0.5 s command)."""
    Image.preinit()  # BMP, GIF, JPEG, PPM, PNG
    return Image.EXTENSION if ext in Image.EXTENSION else Image.registered_extensions()


def check_output_path(path: str | os.PathLike[str]) -> Path:
    """Check that ``path`` can be written: its folder exists and its format is known."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise InputError(f"output folder does not exist: {parent}")
    if p.is_dir():
        raise InputError(f"output path is a folder: {p}")
    ext = p.suffix.lower()
    if ext not in _extensions(ext):
        raise InputError(f"unknown output image format {ext or '(none)'!r} for {p}; use .png or .jpg")
    return p


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it over ``path`` on success.

    Nothing is left behind if the body raises: a reader never sees a partial file.
    """
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp" + p.suffix, dir=p.parent or ".")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp (and some writers) make 0600: the mode a plain open() gives
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_image(img: Image.Image | torch.Tensor, path: str | os.PathLike[str], **kwargs: object) -> Path:
    """Save atomically (temp file + rename); the format follows the extension."""
    p = check_output_path(path)
    if not isinstance(img, Image.Image):
        img = tensor_to_pil(img)
    fmt = _extensions(p.suffix.lower())[p.suffix.lower()]
    if fmt == "JPEG":
        kwargs.setdefault("quality", 95)
    elif fmt == "PNG":
        kwargs.setdefault("compress_level", PNG_COMPRESS_LEVEL)
    with atomic_path(p) as tmp:
        img.save(tmp, format=fmt, **kwargs)
    return p


def png_bytes(img: Image.Image) -> bytes:
    """``img`` encoded as PNG (at :data:`PNG_COMPRESS_LEVEL`)."""
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


def list_images(folder: str | os.PathLike[str], *, recursive: bool = False) -> list[Path]:
    """Sorted image files in ``folder`` (by extension)."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"folder not found: {root}")
    it = root.rglob("*") if recursive else root.iterdir()
    return sorted(p for p in it if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def load_input(img: str | os.PathLike[str] | Image.Image, *, kind: str = "style", what: str = "image") -> Image.Image:
    """A PIL image, a path, or a built-in name (``starry_night``, ``tubingen``) → RGB PIL image.

    A PIL image is taken as it is held (no EXIF turn), but like a file its colour profile is converted to
    sRGB and its alpha flattened onto white (``convert("RGB")`` kept the colours under transparent pixels).
    """
    from .assets import resolve_image

    if isinstance(img, Image.Image):
        return _to_rgb(_to_srgb(img))
    return load_image(resolve_image(os.fspath(img), kind=kind), what=what)
