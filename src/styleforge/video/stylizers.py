"""Per-frame stylisers of every mode, with one interface: ``(frame, hint) -> image``.

``frame`` is ``(H, W, 3)`` uint8 RGB, ``hint`` a :class:`~.temporal.Hint` (previous output warped
into this frame, reliability mask) or ``None``; the result is ``(H, W, 3)`` float32 in [0, 1]
at the frame's size.  Every mode goes through its library's public entry point, so a better
model plugs in without touching the video code:

* :class:`InstantStylizer` — :mod:`styleforge.instant` (``LiteRunner`` when it applies, else
  ``load_instant`` + ``stylize_instant``);
* :class:`GatysStylizer` — :func:`styleforge.transfer.gatys.stylize_tensor`, the first frame
  coarse-to-fine, each later one warm-started from the warped previous result with Ruder et
  al.'s temporal loss (``temporal_weight · mean(m · (x − warp(o_{t−1}))²)``, default 2e3) at one scale
  and ``warm_iterations`` evaluations;
* :class:`PhotoStylizer` — another photo's colours by a mean/covariance affine map fitted once
  on the first frame (the same map on every frame: no colour flicker);
* :class:`LookStylizer` — a ``.cube`` 3-D LUT (:mod:`styleforge.transfer.lut`, the photo looks);
* :class:`TranslatorStylizer` — a pix2pix / CycleGAN / makeup generator through
  :func:`styleforge.gan.loading.load_translator`.
"""

from __future__ import annotations

__all__ = [
    "GatysStylizer",
    "InstantStylizer",
    "LookStylizer",
    "PhotoStylizer",
    "Stylizer",
    "TranslatorStylizer",
    "affine_color_map",
    "make_stylizer",
]

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from ..errors import InputError
from .temporal import Hint

log = logging.getLogger("styleforge")


class Stylizer(Protocol):
    name: str
    uses_hint: bool  # whether it wants the previous output (computed even with --no-consistency)
    # (optional) per_pixel = True: a fixed per-pixel colour map (plain blending, no keyframes)

    def __call__(self, frame: np.ndarray, hint: Hint | None) -> np.ndarray: ...


def _fit(img: np.ndarray, frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    if img.shape[:2] != (h, w):
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
    return img


def _identity(name: str) -> str:
    """A style/file argument as the recipe records it: a file's absolute path, size and mtime
    (a changed file does not resume), else the name itself (a built-in)."""
    p = Path(name)
    if p.is_file():
        st = p.stat()
        return f"{p.resolve()}|{st.st_size}|{int(st.st_mtime)}"
    return name


def _frame_key(frame: np.ndarray) -> tuple[Any, ...]:
    """A frame's pixels as a dictionary key (its shape, type and a 128-bit BLAKE2 digest)."""
    import hashlib

    data = np.ascontiguousarray(frame)
    return data.shape, data.dtype.str, hashlib.blake2b(data.data, digest_size=16).digest()


def _to_float(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32, copy=False)


class InstantStylizer:
    """An instant style (built-in name, trained weights, or any image for AdaIN).

    A per-style network with its palette pass runs torch-free (onnxruntime): the network, then
    the palette pass fitted once per clip (:mod:`.clip_palette`; :meth:`fit_clip` /
    :meth:`set_clip_state`), so the colours do not follow each frame's content.  Before a fit
    (a single image, a webcam) the pass takes each frame's statistics, as ``styleforge instant``.

    In a video one frame in ``keyframes`` (2) is stylised, the others are carried along the optical
    flow (:meth:`.temporal.TemporalBlender.render`; ``--keyframes 1`` stylises every frame).
    """

    uses_hint = False
    keyframes = 2

    def __init__(
        self,
        style: str | list[str],
        *,
        strength: float = 1.0,
        backend: str = "auto",
        threads: int | None = None,
        adain_decoder: str | None = None,
    ) -> None:
        styles = [style] if isinstance(style, str) else list(style)
        self.name = "instant:" + "+".join(Path(s).stem for s in styles)
        self.settings = {
            "styles": [_identity(s) for s in styles],
            "strength": strength,
            "backend": backend,
            "adain_decoder": _identity(adain_decoder) if adain_decoder else None,
        }
        self.strength = strength
        self.threads = threads
        self._palette: Any = None  # the painting's statistics (instant.palette.Palette)
        self._fixed: Any = None  # the pass fitted on this clip (clip_palette.FixedPalette)
        self._convs: Any = None  # the pass's convolutions through onnxruntime (instant.lite)
        #: the clip fit's raw outputs, by their frame (:func:`_frame_key`), until the render reaches it
        self._kept: dict[tuple[Any, ...], np.ndarray] = {}
        self.clip_state: dict[str, Any] | None = None
        self._lite = self._lite_runner(styles, backend, threads, adain_decoder)
        self._model: Any = None
        if self._lite is None:
            import torch

            from ..instant import InstantOptions, load_instant

            if threads:
                torch.set_num_threads(threads)
            self._model = load_instant(styles, backend=backend, adain_decoder=adain_decoder)
            self._opts = InstantOptions(strength=strength, backend=backend, tile=0)
            self._opts.validate(len(styles))

    def _lite_runner(self, styles: list[str], backend: str, threads: int | None, decoder: str | None) -> Any:
        """The torch-free ONNX runner (without its palette pass) for one per-style network, else ``None``."""
        if len(styles) != 1 or backend == "torch" or decoder:
            return None
        try:
            from ..instant.fastpath import lite_runner_for, load_palette, painting_for
            from ..instant.models import weights_for

            runner = lite_runner_for(styles[0], threads=threads, palette=False)
            weights = weights_for(styles[0])
            if runner is None or weights is None:
                return None
            if painting_for(weights) is not None:
                self._palette = load_palette(weights)
                if self._palette is None:  # VGG16's conv1_1 is not cached yet: any torch run converts it
                    from ..backbones import build_backbone

                    build_backbone("vgg16-offline", layers=())
                    self._palette = load_palette(weights)
                    if self._palette is None:
                        return None
            from ..instant.lite import palette_conv_runner

            self._convs = palette_conv_runner(threads) if self._palette is not None else None
            return runner
        except (ImportError, AttributeError):  # the instant package changed its internals: the full path
            return None

    def raw(self, frame: np.ndarray) -> np.ndarray:
        """The network's output before the palette pass, ``(1, 3, H, W)`` float32 in [0, 1] (lite path).

        A frame the clip fit already ran the network on (the same pixels) gets that output back once,
        without a second run.
        """
        if self._kept:
            kept = self._kept.pop(_frame_key(frame), None)
            if kept is not None:
                return kept
        x = np.ascontiguousarray(frame.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
        return self._lite.session.run(None, {self._lite.input_name: x})[0].clip(0, 1)

    @property
    def fits_clip(self) -> bool:
        """Whether a clip-level fit applies (a per-style network with a palette pass, torch-free)."""
        return self._lite is not None and self._palette is not None and self._convs is not None

    def fit_clip(self, samples: list[np.ndarray]) -> dict[str, Any] | None:
        """Fit the palette pass on frames drawn across the clip → its state (JSON-able), or ``None``."""
        if not self.fits_clip:
            return None
        from .clip_palette import fit_clip_palette

        self._kept = {}
        raws = [self.raw(f) for f in samples]
        # the samples are keyframes of the clip: the render gets their outputs back when it reaches them
        # instead of running the network again (four runs: about a second on a clip at 854×480)
        self._kept = {_frame_key(f): r for f, r in zip(samples, raws, strict=True)}
        state = {"palette": fit_clip_palette([r[0].transpose(1, 2, 0) for r in raws], self._palette).to_json()}
        self.set_clip_state(state)
        return state

    def set_clip_state(self, state: dict[str, Any] | None) -> None:
        """Use a fit made earlier (``--resume``, another chunk of the clip)."""
        self.clip_state = state
        self._fixed = None
        if state and self.fits_clip and "palette" in state:
            from .clip_palette import ClipPalette, FixedPalette

            self._fixed = FixedPalette(self._palette, ClipPalette.from_json(state["palette"]), threads=self.threads)

    def __call__(self, frame: np.ndarray, hint: Hint | None = None) -> np.ndarray:
        if self._lite is not None:
            y = self.raw(frame)
            if self._fixed is not None:
                y = self._fixed(y)
            elif self._palette is not None:  # per frame, as ``styleforge instant`` does
                from ..instant.palette import apply_palette

                y = apply_palette(y[0].transpose(1, 2, 0), self._palette, runner=self._convs).transpose(2, 0, 1)[None]
            out = y[0].transpose(1, 2, 0)
            if self.strength < 1:
                out = self.strength * out + (1 - self.strength) * _to_float(frame)
            return _fit(np.ascontiguousarray(out, dtype=np.float32), frame)
        from PIL import Image

        from ..instant import stylize_instant

        res = stylize_instant(Image.fromarray(frame), self._model, self._opts)
        return _fit(_to_float(np.asarray(res)), frame)


class GatysStylizer:
    """Gatys et al. per frame, warm-started and temporally constrained (Ruder et al. 2016)."""

    uses_hint = True

    def __init__(
        self, styles: list[str], cfg: Any = None, *, warm_iterations: int | None = None, temporal_weight: float = 2e3
    ) -> None:
        from ..io import load_input
        from ..transfer.gatys import GatysConfig

        self.cfg = cfg or GatysConfig()
        self.cfg.validate(len(styles))
        self.name = "gatys:" + "+".join(Path(s).stem for s in styles)
        from dataclasses import asdict

        self.settings = {
            "styles": [_identity(s) for s in styles],
            "warm_iterations": warm_iterations,
            "temporal_weight": temporal_weight,
            "cfg": {k: v for k, v in asdict(self.cfg).items() if k not in ("device", "threads", "progress")},
        }
        self.style_images = [load_input(s, what="style image") for s in styles]
        self.warm_iterations = (
            warm_iterations
            if warm_iterations is not None
            else max(1, (self.cfg.iterations or sum(self.cfg.stage_iterations())) // 3)
        )
        self.temporal_weight = temporal_weight
        self._net: Any = None
        self._styles: Any = None
        self._side = 0

    def _setup(self, side: int) -> None:
        import torch  # noqa: F401

        from ..backbones import build_backbone
        from ..io import pil_to_tensor, resize_max_side
        from ..transfer.gatys import layer_setup, pick_device

        if self._net is None:
            device = pick_device(self.cfg.device)
            probe = build_backbone(self.cfg.backbone, layers=(), pooling=self.cfg.pooling, weights=self.cfg.weights)
            c, s, _ = layer_setup(self.cfg, probe)
            self._net = build_backbone(
                self.cfg.backbone, layers=c + s, pooling=self.cfg.pooling, weights=self.cfg.weights, device=device
            )
        if side != self._side:
            target = round(side * self.cfg.style_scale)
            self._styles = [pil_to_tensor(resize_max_side(im, target)) for im in self.style_images]
            self._side = side

    def __call__(self, frame: np.ndarray, hint: Hint | None = None) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        from ..transfer.gatys import stylize_tensor

        self._setup(max(frame.shape[:2]))
        content = torch.from_numpy(_to_float(frame).transpose(2, 0, 1).copy())[None]
        if hint is None:
            res = stylize_tensor(
                content, self._styles, replace(self.cfg, image_size=max(frame.shape[:2])), net=self._net
            )
        else:
            warped = torch.from_numpy(hint.warped.transpose(2, 0, 1).copy())[None]
            mask = torch.from_numpy(hint.mask)[None, None]
            w = self.temporal_weight

            def temporal(image: torch.Tensor) -> dict[str, torch.Tensor]:
                tgt, m = warped.to(image), mask.to(image)
                if tgt.shape[-2:] != image.shape[-2:]:
                    tgt = F.interpolate(tgt, size=image.shape[-2:], mode="bilinear", align_corners=False)
                    m = F.interpolate(m, size=image.shape[-2:], mode="bilinear", align_corners=False)
                return {"temporal": w * (m * (image - tgt) ** 2).mean()}

            cfg = replace(
                self.cfg, image_size=max(frame.shape[:2]), scales=(1.0,), init="image", iterations=self.warm_iterations
            )
            init = mask * warped + (1 - mask) * content  # where the flow fails: the frame, not a ghost of the last
            res = stylize_tensor(content, self._styles, cfg, net=self._net, init_image=init, extra_loss=temporal)
        if res.interrupted:
            raise KeyboardInterrupt
        return _fit(res.image[0].permute(1, 2, 0).numpy().astype(np.float32), frame)


def affine_color_map(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(A, b)`` so that ``A·x + b`` gives ``source``'s pixels ``target``'s colour mean and
    covariance (symmetric square-root solution; pixels are rows of floats in [0, 1])."""
    s = source.reshape(-1, 3).astype(np.float64)
    t = target.reshape(-1, 3).astype(np.float64)
    ms, mt = s.mean(0), t.mean(0)
    eye = np.eye(3) * 1e-5

    def sqrtm(c: np.ndarray, p: float) -> np.ndarray:
        w, v = np.linalg.eigh(c)
        return (v * np.clip(w, 1e-8, None) ** p) @ v.T

    a = sqrtm(np.cov(t.T) + eye, 0.5) @ sqrtm(np.cov(s.T) + eye, -0.5)
    return a.astype(np.float32), (mt - a @ ms).astype(np.float32)


class PhotoStylizer:
    """Another photo's look: one affine colour map, fitted on the first frame, for the whole clip."""

    uses_hint = False
    per_pixel = True  # the same colour map on every frame: blended plainly (no strokes), no keyframes

    def __init__(self, photo: str, *, strength: float = 1.0) -> None:
        from ..io import load_input, resize_max_side

        self.name = "photo:" + Path(photo).stem
        self.settings = {"photo": _identity(photo), "strength": strength}
        self.style = _to_float(np.asarray(resize_max_side(load_input(photo, what="style photo"), 256)))
        self.strength = strength
        self.map: tuple[np.ndarray, np.ndarray] | None = None

    def fit_clip(self, samples: list[np.ndarray]) -> dict[str, Any] | None:
        """Fit the colour map on frames drawn across the clip (every chunk gets the same map)."""
        if not samples:
            return None
        small = [
            cv2.resize(
                _to_float(f), (max(1, f.shape[1] // 4), max(1, f.shape[0] // 4)), interpolation=cv2.INTER_AREA
            ).reshape(-1, 3)
            for f in samples
        ]
        a, b = affine_color_map(np.concatenate(small), self.style)
        state = {"a": a.round(7).tolist(), "b": b.round(7).tolist()}
        self.set_clip_state(state)
        return state

    def set_clip_state(self, state: dict[str, Any] | None) -> None:
        self.map = None if not state else (np.asarray(state["a"], np.float32), np.asarray(state["b"], np.float32))

    def __call__(self, frame: np.ndarray, hint: Hint | None = None) -> np.ndarray:
        x = _to_float(frame)
        if self.map is None:  # no clip-level fit (a webcam): the first frame's
            small = cv2.resize(x, (max(1, x.shape[1] // 4), max(1, x.shape[0] // 4)), interpolation=cv2.INTER_AREA)
            self.map = affine_color_map(small, self.style)
        a, b = self.map
        y = np.clip(x @ a.T + b, 0, 1)
        return y if self.strength >= 1 else self.strength * y + (1 - self.strength) * x


class LookStylizer:
    """A ``.cube`` look applied to every frame."""

    uses_hint = False
    per_pixel = True  # the same colour map on every frame: blended plainly (no strokes), no keyframes

    def __init__(self, cube: str, *, strength: float = 1.0) -> None:
        from ..transfer.lut import read_cube

        self.name = "look:" + Path(cube).stem
        self.settings = {"look": _identity(cube), "strength": strength}
        self.lut = read_cube(cube)
        self.strength = strength

    def __call__(self, frame: np.ndarray, hint: Hint | None = None) -> np.ndarray:
        from ..transfer.lut import apply_lut

        x = _to_float(frame)
        y = apply_lut(self.lut, x)
        return y if self.strength >= 1 else self.strength * y + (1 - self.strength) * x


class TranslatorStylizer:
    """A trained generator (pix2pix, CycleGAN, makeup, exported graphs)."""

    uses_hint = False

    def __init__(self, checkpoint: str, *, direction: str | None = None, device: str = "cpu") -> None:
        from ..gan.loading import load_translator
        from ..transfer.gatys import pick_device

        self.name = "checkpoint:" + Path(checkpoint).stem
        self.settings = {"checkpoint": _identity(checkpoint), "direction": direction}
        self.device = pick_device(device)
        self.translator = load_translator(checkpoint, direction=direction, device=self.device)

    def __call__(self, frame: np.ndarray, hint: Hint | None = None) -> np.ndarray:
        import torch

        x = torch.from_numpy(_to_float(frame).transpose(2, 0, 1).copy())[None]
        y = self.translator.tensor(x, self.device)
        return _fit(y[0].permute(1, 2, 0).numpy().astype(np.float32), frame)


def make_stylizer(
    *,
    instant: str | list[str] | None = None,
    style: str | list[str] | None = None,
    look: str | None = None,
    photo_style: str | None = None,
    checkpoint: str | None = None,
    **kw: Any,
) -> Stylizer:
    """One stylizer from exactly one mode argument (``kw`` go to its constructor)."""
    given = {
        k: v
        for k, v in dict(
            instant=instant, style=style, look=look, photo_style=photo_style, checkpoint=checkpoint
        ).items()
        if v
    }
    if len(given) != 1:
        raise InputError(
            "give exactly one of --instant, --style, --look, --photo-style or --checkpoint"
            + (f" (got {', '.join('--' + k.replace('_', '-') for k in given)})" if given else "")
        )
    mode, value = next(iter(given.items()))
    if mode == "instant":
        return InstantStylizer(value, **kw)
    if mode == "style":
        return GatysStylizer([value] if isinstance(value, str) else list(value), **kw)
    one = value if isinstance(value, str) else value[0]
    if mode == "look":
        return LookStylizer(one, **kw)
    if mode == "photo_style":
        return PhotoStylizer(one, **kw)
    return TranslatorStylizer(one, **kw)
