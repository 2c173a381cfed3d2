"""Inference for instant styles, with the test-time controls of every model.

:func:`load_instant` turns ``--style`` values into an :class:`InstantModel`:

* a built-in instant style (``starry_night``) or trained weights
  (``runs/x/weights/T.safetensors``) → a per-style feed-forward network;
* any other image (a path, or a built-in painting without its own network)
  → the built-in arbitrary-style network: multi-level WCT with reconstruction
  decoders (:mod:`styleforge.nets.wct`) when installed, else AdaIN.

:func:`stylize_instant` applies it with :class:`InstantOptions`: strength
(blend with the photo; AdaIN's ``alpha``), several styles with weights
(AdaIN interpolates their statistics, per-style networks their outputs), a
mask for two styles, original colours, output size, and tiling with
overlapping, feathered tiles for images too large to process at once.  One
per-style network gets the palette pass after it (:mod:`.palette`, on the whole
image, before the strength blend; ``InstantOptions(palette=False)`` skips it).
"""

from __future__ import annotations

__all__ = ["InstantModel", "InstantOptions", "load_instant", "stylize_instant", "tiled"]

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from ..errors import InputError
from .fastpath import load_palette, painting_for
from .lite import onnxruntime_available
from .models import builtin_models, load_arbitrary_net, load_transformer, weights_for
from .options import AUTO_TILE, AUTO_TILE_PIXELS, InstantOptions, scaled_size
from .palette import Palette, apply_palette


class _PerStyle:
    """One per-style network, run by torch or onnxruntime."""

    def __init__(self, net: nn.Module, path: Path, name: str, backend: str) -> None:
        self.net, self.path, self.name = net, path, name
        self.session = None
        if backend == "onnx" or (backend == "auto" and onnxruntime_available()):
            from .onnx import session_for

            self.session = session_for(net, path, "instant")
        self.backend = "onnxruntime" if self.session is not None else "torch"
        self._palette: Palette | None = None
        self._palette_loaded = False

    @property
    def palette(self) -> Palette | None:
        """The palette pass of this network's painting (:mod:`.palette`), or ``None`` if it records none."""
        if not self._palette_loaded:
            from ..backbones.vgg import load_vgg_weights

            self._palette_loaded = True
            if painting_for(self.path) is not None:
                _, vgg, _ = load_vgg_weights("vgg16-offline")  # also writes the cache the torch-free path reads
                if vgg is not None:
                    conv = (vgg["conv1_1.weight"].numpy(), vgg["conv1_1.bias"].numpy())
                    self._palette = load_palette(self.path, conv)
        return self._palette

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.session is not None:
            out = self.session.run(None, {"image": x.numpy()})[0]
            return torch.from_numpy(out)
        with torch.inference_mode():
            return self.net(x)


class InstantModel:
    """Resolved ``--style`` values: per-style networks and/or AdaIN style statistics."""

    def __init__(
        self,
        per_style: list[_PerStyle | None],
        adain: nn.Module | None,
        style_images: list[torch.Tensor | None],
        names: list[str],
        backend: str,
    ) -> None:
        self.per_style, self.adain, self.names = per_style, adain, names
        self.sources: list[str] = list(names)  # the --style values (load_instant sets them)
        self.style_images = style_images
        self.stats: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * len(names)
        self._scaled_stats: dict[float, list[Any]] = {}
        self._adain_session = None
        if adain is not None:
            with torch.inference_mode():
                for i, s in enumerate(style_images):
                    if s is not None:
                        self.stats[i] = adain.style_stats(s)  # type: ignore[operator]
            self._scaled_stats[1.0] = self.stats
        kinds = {p.backend for p in per_style if p is not None}
        self.backend = "+".join(sorted(kinds | ({"torch"} if adain is not None else set()))) or backend
        self.requested_backend = backend
        #: The WCT weights of ``adain`` (load_instant sets them): with onnxruntime, one style image
        #: without a mask runs through the torch-free runner (:mod:`.wctlite`, same pictures).
        self.wct_weights: Path | None = None
        self._wct_runner: Any = False  # not resolved yet
        self._wct_stats: dict[tuple[int, float], Any] = {}

    def wct_runner(self) -> Any:
        """The onnxruntime WCT runner (:class:`.wctlite.WCTRunner`) for this model's WCT network, or ``None``
        (``backend="torch"``, no onnxruntime, other decoders, sizes changed, or a bf16 autocast)."""
        if self._wct_runner is False:
            self._wct_runner = None
            if self.wct_weights is not None and self.requested_backend != "torch" and onnxruntime_available():
                from .wctlite import wct_runner_for

                runner = wct_runner_for(self.wct_weights, threads=torch.get_num_threads())
                if runner is not None and runner.matches(self.adain):
                    self._wct_runner = runner
        return self._wct_runner

    @property
    def kinds(self) -> list[str]:
        """Per style: ``instant`` (its own network), or the arbitrary network's kind (``wct`` / ``adain``)."""
        arbitrary = "wct" if type(self.adain).__name__ == "WCTNet" else "adain"
        return ["instant" if p is not None else arbitrary for p in self.per_style]

    def palette(self, opts: InstantOptions, mask: torch.Tensor | None = None) -> Palette | None:
        """The palette pass for this call: one per-style network, no mask, ``opts.palette``; else ``None``."""
        if not opts.palette or mask is not None or len(self.per_style) != 1 or self.per_style[0] is None:
            return None
        return self.per_style[0].palette

    def stats_at(self, style_scale: float) -> list[Any]:
        """The arbitrary network's statistics of every style image at ``style_scale`` (cached per scale)."""
        if style_scale not in self._scaled_stats:
            net: Any = self.adain
            with torch.inference_mode():
                self._scaled_stats[style_scale] = [
                    None if s is None else net.style_stats(s, scale=style_scale) for s in self.style_images
                ]
        return self._scaled_stats[style_scale]

    def _adain(
        self,
        x: torch.Tensor,
        idx: Sequence[int],
        weights: Sequence[float],
        alpha: float,
        mask: torch.Tensor | None,
        style_scale: float = 1.0,
    ) -> torch.Tensor:
        runner = self.wct_runner() if mask is None and len(idx) == 1 else None
        if runner is not None:
            style = self.style_images[idx[0]]
            assert style is not None
            key = (idx[0], float(style_scale))
            if key not in self._wct_stats:
                self._wct_stats[key] = runner.stats_for(None, style.numpy(), style_scale, key=f"{id(self)}-{key}")
                runner._stats.clear()  # kept here, with this model (a later model may reuse the id)
            stats_np = self._wct_stats[key]
            return torch.from_numpy(runner.stylize(x.detach().float().numpy(), stats_np, alpha=float(alpha)))
        all_stats = self.stats_at(style_scale)
        stats = [all_stats[i] for i in idx]
        net: Any = self.adain
        with torch.inference_mode():
            return net.stylize_stats(x, stats, weights, alpha=alpha, mask=mask)

    def run(self, x: torch.Tensor, opts: InstantOptions, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Stylise a ``(1, 3, H, W)`` tensor (no resizing, tiling or colour handling)."""
        n = len(self.names)
        weights = list(opts.style_weights or [1.0] * n)
        alpha = opts.alpha if opts.alpha is not None else opts.strength
        adain_idx = [i for i, p in enumerate(self.per_style) if p is None]
        if mask is not None:  # two styles: first in white, second elsewhere
            if n != 2:
                raise InputError(f"--mask needs exactly two --style, got {n}")
            if not self.per_style[0] and not self.per_style[1]:
                return self._adain(x, [0, 1], [1, 1], alpha, mask, opts.style_scale)
            a, b = (self._one(x, i, opts) for i in (0, 1))
            return mask * a + (1 - mask) * b
        if len(adain_idx) == n:
            return self._adain(x, adain_idx, weights, alpha, None, opts.style_scale)
        total = sum(weights)
        out = torch.zeros_like(x)
        for i in range(n):
            if weights[i]:
                out = out + weights[i] / total * self._one(x, i, opts)
        return out

    def _one(self, x: torch.Tensor, i: int, opts: InstantOptions) -> torch.Tensor:
        p = self.per_style[i]
        if p is None:
            return self._adain(
                x, [i], [1.0], opts.alpha if opts.alpha is not None else opts.strength, None, opts.style_scale
            )
        if opts.style_scale != 1.0:  # the network's strokes have a fixed size in pixels: work on a scaled photo
            H, W = x.shape[-2:]
            small = F.interpolate(
                x,
                size=scaled_size(H, W, opts.style_scale),
                mode="bilinear",
                align_corners=False,
                antialias=opts.style_scale > 1,
            )
            y = F.interpolate(p(small), size=(H, W), mode="bicubic", align_corners=False).clamp(0, 1)
        else:
            y = p(x).clamp(0, 1)
        return opts.strength * y + (1 - opts.strength) * x if opts.strength < 1 else y


def load_instant(
    styles: Sequence[str], *, backend: str = "auto", adain_decoder: str | Path | None = None, arbitrary: str = "auto"
) -> InstantModel:
    """Resolve ``--style`` values (built-in instant names, weights files, or images for the arbitrary network).

    ``adain_decoder``: a trained AdaIN decoder (``runs/x/weights/decoder.safetensors``) or WCT
    decoders file instead of the built-in network, for image styles; ``arbitrary``: which built-in
    arbitrary-style method (``auto`` = WCT when installed, ``wct``, ``adain``).
    """
    from ..io import load_input, pil_to_tensor, resize_max_side

    if not styles:
        raise InputError("give at least one --style")
    if backend == "onnx" and not onnxruntime_available():
        raise InputError("--backend onnx needs onnxruntime (pip install onnxruntime)")
    per_style: list[_PerStyle | None] = []
    images: list[torch.Tensor | None] = []
    names: list[str] = []
    for s in styles:
        path = weights_for(s)
        if path is not None:
            from .models import load_weights

            _, meta = load_weights(path)
            if meta.get("kind") in ("adain", "wct"):
                raise InputError(
                    f"{path} is an arbitrary-style ({meta.get('kind')}) model: pass a style image "
                    "with --style (and the model with --adain-decoder)"
                )
            net, _meta = load_transformer(path)
            per_style.append(_PerStyle(net, path, s, backend))
            images.append(None)
        else:
            try:
                img = load_input(s, what="style image")
            except InputError as e:
                known = ", ".join(n for n, e in builtin_models().items() if e.kind == "instant")
                raise InputError(f"{e} (built-in instant styles: {known})") from None
            per_style.append(None)
            images.append(pil_to_tensor(resize_max_side(img, 512)))
        names.append(Path(s).stem if Path(s).exists() else s)
    decoder = None if adain_decoder is None else Path(adain_decoder)
    if decoder is not None and not decoder.is_file():
        raise InputError(f"AdaIN decoder not found: {decoder}")
    adain = load_arbitrary_net(decoder, arbitrary)[0] if any(p is None for p in per_style) else None
    model = InstantModel(per_style, adain, images, names, backend)
    model.sources = list(styles)
    if adain is not None and type(adain).__name__ == "WCTNet":
        from .models import default_arbitrary_weights

        model.wct_weights = decoder or default_arbitrary_weights(arbitrary)
    return model


def _ramp(n: int, overlap: int, at_start: bool, at_end: bool) -> torch.Tensor:
    """1-D blending weights: linear ramps over ``overlap`` pixels at inner tile edges."""
    w = torch.ones(n)
    if overlap > 0:
        r = (torch.arange(overlap, dtype=torch.float32) + 0.5) / overlap
        if not at_start:
            w[:overlap] = torch.minimum(w[:overlap], r)
        if not at_end:
            w[-overlap:] = torch.minimum(w[-overlap:], r.flip(0))
    return w


def _starts(size: int, tile: int, overlap: int) -> list[int]:
    if size <= tile:
        return [0]
    step = tile - overlap
    n = math.ceil((size - overlap) / step)
    starts = [min(i * step, size - tile) for i in range(n)]
    return sorted(set(starts))


def tiled(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int, overlap: int = 64) -> torch.Tensor:
    """Apply an image→image ``fn`` on overlapping ``tile``² tiles and blend them with linear ramps.

    Each output pixel is a weighted mean of the tiles covering it, so seams
    fade over ``overlap`` pixels.  ``fn`` must keep the tile's size.
    """
    _, _, H, W = x.shape
    ys, xs = _starts(H, tile, overlap), _starts(W, tile, overlap)
    out = torch.zeros(x.shape[0], 3, H, W)
    acc = torch.zeros(1, 1, H, W)
    for y0 in ys:
        for x0 in xs:
            h, w = min(tile, H - y0), min(tile, W - x0)
            y = fn(x[..., y0 : y0 + h, x0 : x0 + w]).float()
            ov_y = min(overlap, h // 2)
            ov_x = min(overlap, w // 2)
            wy = _ramp(h, ov_y, y0 == 0, y0 + h >= H)
            wx = _ramp(w, ov_x, x0 == 0, x0 + w >= W)
            wt = (wy[:, None] * wx[None, :])[None, None]
            out[..., y0 : y0 + h, x0 : x0 + w] += y * wt
            acc[..., y0 : y0 + h, x0 : x0 + w] += wt
    return out / acc.clamp_min(1e-8)


def _palette_pass(y: torch.Tensor, palette: Palette) -> torch.Tensor:
    """The palette pass on ``(1, 3, H, W)`` in [0, 1]: the onnxruntime pass graph (:class:`.lite.PassRunner`)
    when onnxruntime and the graph are there, else the numpy pass (its convolutions through the older
    onnxruntime graph up to :data:`.lite.PALETTE_ORT_MAX_PIXELS`)."""
    from .lite import PALETTE_ORT_MAX_PIXELS, PassRunner, palette_conv_runner

    H, W = y.shape[-2:]
    threads = torch.get_num_threads()
    runner = PassRunner.create(palette, threads) if onnxruntime_available() and min(H, W) >= 3 else None
    if runner is not None:
        return torch.from_numpy(runner(y.contiguous().numpy()))
    convs = palette_conv_runner(threads) if H * W <= PALETTE_ORT_MAX_PIXELS else None
    return torch.from_numpy(apply_palette(y[0].permute(1, 2, 0).numpy(), palette, runner=convs)).permute(2, 0, 1)[None]


def stylize_instant(
    image: Image.Image | torch.Tensor | str | Path,
    model: InstantModel,
    opts: InstantOptions = InstantOptions(),
    *,
    mask: torch.Tensor | None = None,
    refine: int = 0,
    refine_style: Image.Image | str | Path | None = None,
) -> Image.Image:
    """Stylise one photo (a path, a PIL image or ``(1, 3, H, W)`` in [0, 1]) → PIL image.

    ``refine``: polish the result with that many Gatys evaluations on EfficientNet-Lite0
    (:mod:`styleforge.instant.refine`) against ``refine_style`` (default: the painting
    recorded with the model, or the style image).
    """
    from ..color import original_colors
    from ..io import load_input, pil_to_tensor, resize_max_side, tensor_to_pil

    if isinstance(image, (str, Path)):
        image = load_input(str(image), kind="content", what="photo")
    opts.validate(len(model.names))
    if isinstance(image, Image.Image):
        if opts.size is not None:
            image = resize_max_side(image, opts.size)
        x = pil_to_tensor(image)
    else:
        x = image.float()
        if opts.size is not None:
            k = opts.size / max(x.shape[-2:])
            x = F.interpolate(
                x,
                size=(max(1, round(x.shape[-2] * k)), max(1, round(x.shape[-1] * k))),
                mode="bilinear",
                align_corners=False,
                antialias=k < 1,
            )
    H, W = x.shape[-2:]
    if min(H, W) < 16:
        raise InputError(f"the photo is {W}×{H}: instant styles need at least 16 pixels on each side")
    if mask is not None:
        mask = F.interpolate(mask.float(), size=(H, W), mode="bilinear", align_corners=False)
    palette = model.palette(opts, mask)
    run_opts = replace(opts, strength=1.0) if palette is not None else opts  # the strength blend follows the pass
    tile = opts.tile
    if tile is None:
        tile = AUTO_TILE if H * W > AUTO_TILE_PIXELS else 0
    if tile and max(H, W) > tile:
        if mask is not None:
            full = torch.cat([x, mask], dim=1)
            y = tiled(lambda t: model.run(t[:, :3], run_opts, t[:, 3:]), full, tile, opts.overlap)
        else:
            y = tiled(lambda t: model.run(t, run_opts), x, tile, opts.overlap)
    else:
        y = model.run(x, run_opts, mask)
    y = y.clamp(0, 1)
    if palette is not None:  # on the whole image (statistics of the stitched tiles, no seams)
        y = _palette_pass(y, palette)
        if opts.strength < 1:
            y = opts.strength * y + (1 - opts.strength) * x
    if opts.original_colors:
        y = original_colors(y, x, space=opts.color_space)
    if refine:
        from .refine import refine as polish
        from .refine import style_image_for

        if refine_style is None:
            if len(model.sources) != 1:
                raise InputError("refining several styles needs refine_style (--refine-style IMAGE)")
            refine_style = style_image_for(model.sources[0])
        painting = (
            refine_style if isinstance(refine_style, Image.Image) else load_input(str(refine_style), what="style image")
        )
        return polish(tensor_to_pil(y), tensor_to_pil(x), painting, iterations=refine)
    return tensor_to_pil(y)
