"""An independent quality metric for stylised images (benchmarks, not training).

Offline VGG16 weights, **average** pooling, caffe input (BGR, 0–255, minus the
ImageNet mean); every image at 384 px on its long side:

* content loss = MSE of ``relu4_2`` between the output and the photo
  (the output resized to the photo's 384-px size);
* style loss = mean over ``relu1_1 … relu5_1`` of the MSE between Gram
  matrices normalised by ``c·h·w`` (output vs painting).

The forward pass is written here with ``F.conv2d`` on the raw weight dict —
it shares no code with :mod:`styleforge.losses` or the backbone module, so a
bug there cannot hide in the score.
"""

from __future__ import annotations

__all__ = [
    "CONTENT_LAYER",
    "EVAL_SIZE",
    "STYLE_LAYERS",
    "QualityMetric",
    "content_loss",
    "gram",
    "style_loss",
    "vgg16_avg_features",
]

from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

EVAL_SIZE = 384
CONTENT_LAYER = "relu4_2"
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
_BLOCKS = (2, 2, 3, 3, 3)
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def vgg16_avg_features(
    x: torch.Tensor, weights: Mapping[str, torch.Tensor], layers: Sequence[str]
) -> dict[str, torch.Tensor]:
    """``relu{b}_{d}`` features of RGB ``x`` in [0, 1] with VGG16 conv ``weights`` and average pooling."""
    mean = torch.tensor(_CAFFE_MEAN_BGR, dtype=x.dtype).view(1, 3, 1, 1)
    h = x.flip(1) * 255.0 - mean
    wanted, out = set(layers), {}
    for b, n in enumerate(_BLOCKS, start=1):
        if b > 1:
            h = F.avg_pool2d(h, 2, 2)
        for d in range(1, n + 1):
            h = F.relu(F.conv2d(h, weights[f"conv{b}_{d}.weight"], weights[f"conv{b}_{d}.bias"], padding=1))
            name = f"relu{b}_{d}"
            if name in wanted:
                out[name] = h
        if len(out) == len(wanted):
            break
    return {k: out[k] for k in layers}


def gram(f: torch.Tensor) -> torch.Tensor:
    """``(1, C, H, W)`` → ``F Fᵀ / (C·H·W)``."""
    _, c, h, w = f.shape
    m = f.reshape(c, h * w).double()
    return m @ m.T / (c * h * w)


def style_loss(a: Mapping[str, torch.Tensor], b_grams: Mapping[str, torch.Tensor]) -> float:
    """Mean over the style layers of the MSE between ``a``'s Grams and the given Grams."""
    return float(np.mean([float(((gram(a[k]) - b_grams[k]) ** 2).mean()) for k in STYLE_LAYERS]))


def content_loss(a: torch.Tensor, b: torch.Tensor) -> float:
    """MSE between two feature maps of the same shape."""
    return float(((a.double() - b.double()) ** 2).mean())


def _to_tensor(img: Image.Image, size: tuple[int, int] | None = None) -> torch.Tensor:
    img = img.convert("RGB")
    if size is None:
        k = EVAL_SIZE / max(img.size)
        size = (max(1, round(img.width * k)), max(1, round(img.height * k)))
    if img.size != size:
        img = img.resize(size, Image.Resampling.BICUBIC)
    arr = np.asarray(img, dtype=np.float32) / 255.0
    return torch.from_numpy(arr.transpose(2, 0, 1).copy())[None]


class QualityMetric:
    """``score(output, photo, painting) → (content loss, style loss)``; caches the photo's and painting's features."""

    def __init__(self, weights: Mapping[str, torch.Tensor] | None = None) -> None:
        if weights is None:
            from ..backbones.vgg import load_vgg_weights

            _arch, sd, _norm = load_vgg_weights("vgg16-offline")
            assert sd is not None
            weights = sd
        self.w = {k: v.float() for k, v in weights.items()}
        self._cache: dict[object, object] = {}

    def _feats(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        with torch.inference_mode():
            return vgg16_avg_features(x, self.w, layers)

    def _photo(self, key: object, img: Image.Image) -> tuple[tuple[int, int], torch.Tensor]:
        if ("p", key) not in self._cache:
            x = _to_tensor(img)
            self._cache[("p", key)] = ((x.shape[-1], x.shape[-2]), self._feats(x, [CONTENT_LAYER])[CONTENT_LAYER])
        return self._cache[("p", key)]  # type: ignore[return-value]

    def _style(self, key: object, img: Image.Image) -> dict[str, torch.Tensor]:
        if ("s", key) not in self._cache:
            f = self._feats(_to_tensor(img), STYLE_LAYERS)
            self._cache[("s", key)] = {k: gram(v) for k, v in f.items()}
        return self._cache[("s", key)]  # type: ignore[return-value]

    def score(
        self,
        output: Image.Image,
        photo: Image.Image,
        painting: Image.Image,
        photo_key: object = None,
        painting_key: object = None,
    ) -> tuple[float, float]:
        """Content and style loss of ``output`` (keys: cache names for the photo and painting)."""
        size, pf = self._photo(photo_key if photo_key is not None else id(photo), photo)
        grams = self._style(painting_key if painting_key is not None else id(painting), painting)
        f = self._feats(_to_tensor(output, size), (CONTENT_LAYER, *STYLE_LAYERS))
        return content_loss(f[CONTENT_LAYER], pf), style_loss(f, grams)
