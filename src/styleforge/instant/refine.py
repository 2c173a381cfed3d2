"""``--refine N``: polish an instant result with N Gatys evaluations on the fast backbone.

The instant image is the initial image of a single-scale optimisation at the
photo's full size on EfficientNet-Lite0 (content = the photo, style = the
painting recorded with the model, or ``--style``): the feed-forward result
does the coarse work, the few evaluations sharpen what the network blurred
and pull the style statistics closer.
"""

from __future__ import annotations

__all__ = ["REFINE_BACKBONE", "MAX_REFINE", "refine", "style_image_for"]

import dataclasses
from pathlib import Path

from PIL import Image

from ..errors import InputError

REFINE_BACKBONE = "effnet-lite0"
MAX_REFINE = 1000


def style_image_for(style: str) -> Path:
    """The painting an instant ``style`` stands for: a built-in network's recorded style, or the image itself."""
    from ..assets import resolve_image
    from .fastpath import painting_for
    from .models import builtin_models

    entry = builtin_models().get(style.replace("-", "_"))
    if entry is not None and entry.kind == "instant":
        painting = painting_for(entry.file)
        if painting is not None:
            return painting
        raise InputError(f"the built-in style {style!r} records no painting to refine against; give --refine-style")
    if Path(style).suffix == ".safetensors" or (Path(style).is_dir() and (Path(style) / "weights").is_dir()):
        raise InputError(f"{style} is a trained network: give the painting it was trained on with --refine-style")
    return resolve_image(style)


def refine(
    image: Image.Image,
    photo: Image.Image,
    style: Image.Image,
    *,
    iterations: int,
    backbone: str = REFINE_BACKBONE,
    style_weight: float | None = None,
) -> Image.Image:
    """``iterations`` L-BFGS evaluations from ``image`` (the instant result) at its size."""
    from ..io import pil_to_tensor, resize_max_side, tensor_to_pil
    from ..transfer.gatys import GatysConfig, stylize_tensor

    if not 0 <= iterations <= MAX_REFINE:
        raise InputError(f"--refine must be between 0 and {MAX_REFINE} evaluations, got {iterations}")
    if iterations == 0:
        return image
    size = max(image.size)
    cfg = GatysConfig(
        image_size=max(32, size),
        iterations=iterations,
        scales=(1.0,),
        init="image",
        backbone=backbone,
        device="cpu",
    )
    if style_weight is not None:
        cfg = dataclasses.replace(cfg, style_weight=style_weight)
    content = pil_to_tensor(photo.convert("RGB").resize(image.size, Image.Resampling.LANCZOS))
    styles = [pil_to_tensor(resize_max_side(style.convert("RGB"), size))]
    result = stylize_tensor(content, styles, cfg, init_image=pil_to_tensor(image.convert("RGB")))
    return tensor_to_pil(result.image)
