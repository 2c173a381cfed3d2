"""High-level Python API: images in, PIL image out."""

from __future__ import annotations

__all__ = ["ImageLike", "load_input", "stylize"]

import os
from collections.abc import Callable, Sequence
from typing import Any, Union

import torch
from PIL import Image

from .io import load_input, load_mask, pil_to_tensor, resize_max_side, tensor_to_pil
from .transfer.config import gatys_config
from .transfer.gatys import StylizeResult, stylize_tensor

ImageLike = Union[str, "os.PathLike[str]", Image.Image]


def stylize(
    content: ImageLike,
    style: ImageLike | Sequence[ImageLike],
    *,
    style_masks: Sequence[ImageLike | None] | None = None,
    color_mask: ImageLike | None = None,
    init_image: ImageLike | None = None,
    callback: Callable[..., None] | None = None,
    progress: bool = False,
    return_result: bool = False,
    **options: Any,
) -> Image.Image | StylizeResult:
    """Paint ``content`` in the style of ``style`` (one image or several) — Gatys et al.

    ``options`` are the fields of :class:`~styleforge.transfer.GatysConfig`
    (``image_size``, ``iterations``, ``style_weight``, ``original_colors``, …); those left out
    keep the configuration's defaults, the same as ``styleforge stylize``'s
    (:func:`~styleforge.transfer.config.gatys_config`: the backbone's coarse-to-fine schedule,
    ``amp="auto"``, ``scale_detail=1``).

    Example:
        >>> import styleforge
        >>> img = styleforge.stylize("tubingen", "starry_night", image_size=256)  # doctest: +SKIP
    """
    cfg = gatys_config(**options)
    styles_in = [style] if isinstance(style, (str, os.PathLike, Image.Image)) else list(style)
    content_img = resize_max_side(load_input(content, kind="content", what="content image"), cfg.image_size)
    c = pil_to_tensor(content_img)
    target = round(cfg.image_size * cfg.style_scale)
    styles = [pil_to_tensor(resize_max_side(load_input(s, what="style image"), target)) for s in styles_in]
    masks = None
    if style_masks is not None:
        masks = [None if m is None else _mask(m, content_img.size) for m in style_masks]
    cm = None if color_mask is None else _mask(color_mask, content_img.size)
    init = None if init_image is None else pil_to_tensor(load_input(init_image, kind="content", what="init image"))
    result = stylize_tensor(
        c, styles, cfg, style_masks=masks, color_mask=cm, init_image=init, callback=callback, progress=progress
    )
    return result if return_result else tensor_to_pil(result.image)


def _mask(m: ImageLike, size: tuple[int, int]) -> torch.Tensor:
    if isinstance(m, Image.Image):
        arr = pil_to_tensor(m.convert("RGB").resize(size, Image.Resampling.BILINEAR))
        return arr.mean(1, keepdim=True)
    return load_mask(m, size)
