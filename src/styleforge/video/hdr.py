"""HDR clips shown on an SDR picture: HLG (what phones film by default) and PQ (HDR10), as players map them.

Read as if they were SDR, a PQ clip comes out flat and grey (its signal spends the levels an SDR clip
gives to the whole picture on the shadows and midtones, and keeps the rest for highlights), and an
HLG clip dim and pale (its whites at 75 %, its BT.2020 colours shown as BT.709's).
:func:`to_sdr` maps a decoded HDR frame (RGB in the clip's BT.2020 primaries, 16-bit) to the SDR
BT.709 frame the networks were trained on (pure numpy):

1. signal → display light in cd/m² (ITU-R BT.2100): HLG's inverse OETF and the OOTF of its nominal
   1000 cd/m² display (system gamma 1.2, on the scene luminance, so hues keep); PQ's EOTF;
2. relative to HDR reference white, 203 cd/m² (ITU-R BT.2408: where SDR's 100 % sits in HDR);
3. BT.2020 → BT.709 primaries in linear light (ITU-R BT.2087); colours outside BT.709 are clipped;
4. highlights above :data:`KNEE` of SDR white are rolled off to white at the display's peak (an
   extended Reinhard curve on the excess, slope 1 at the knee, so nothing bands), on the pixel's
   largest channel so the hue keeps;
5. BT.1886's display gamma 2.4 inverted: the BT.709 signal an SDR display shows as that light.

SDR content carried in HDR (below the knee, as BT.2408 places it) comes back as it was.
"""

from __future__ import annotations

__all__ = ["HLG", "KNEE", "PQ", "REFERENCE_WHITE", "display_light", "is_hdr", "to_sdr", "tone_curve"]

import math
from functools import lru_cache

import cv2
import numpy as np

#: ``color_trc`` codes (ISO/IEC 23091-2, FFmpeg's ``AVColorTransferCharacteristic``).
PQ = 16  # SMPTE ST 2084 (HDR10)
HLG = 18  # ARIB STD-B67
#: cd/m² of HDR reference white, where SDR white maps (ITU-R BT.2408).
REFERENCE_WHITE = 203.0
#: Relative light (1 = SDR white) up to which the mapping is the identity.
KNEE = 0.75
#: Peak of the display the mapping assumes (cd/m²): HLG's nominal display, and the usual HDR10 mastering
#: peak (brighter PQ highlights reach white).
NOMINAL_PEAK = 1000.0

_ROOT_STEPS = 4095
# BT.2100 constants.
_HLG_A = 0.17883277
_HLG_B = 1.0 - 4.0 * _HLG_A
_HLG_C = 0.5 - _HLG_A * math.log(4.0 * _HLG_A)
_PQ_M1, _PQ_M2 = 2610 / 16384, 2523 / 4096 * 128
_PQ_C1, _PQ_C2, _PQ_C3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
_BT2020_LUMA = np.array([0.2627, 0.6780, 0.0593], np.float32)
#: Linear BT.2020 RGB → linear BT.709 RGB (ITU-R BT.2087, rows: R, G, B).
BT2020_TO_BT709 = np.array(
    [[1.6605, -0.5876, -0.0728], [-0.1246, 1.1329, -0.0083], [-0.0182, -0.1006, 1.1187]], np.float32
)


def is_hdr(transfer: int | None) -> bool:
    """Whether a stream's transfer characteristic is one :func:`to_sdr` maps (HLG or PQ)."""
    return transfer in (HLG, PQ)


def _hlg_inverse_oetf(signal: np.ndarray) -> np.ndarray:
    """HLG signal E′ in [0, 1] → normalised scene light E in [0, 1] (BT.2100 table 5)."""
    low = signal**2 / 3.0
    high = (np.exp((np.maximum(signal, 0.5) - _HLG_C) / _HLG_A) + _HLG_B) / 12.0
    return np.where(signal <= 0.5, low, high)


def _pq_eotf(signal: np.ndarray) -> np.ndarray:
    """PQ signal E′ in [0, 1] → display light in cd/m² (BT.2100 table 4)."""
    p = np.power(np.clip(signal, 0.0, 1.0), 1.0 / _PQ_M2)
    return 10000.0 * np.power(np.maximum(p - _PQ_C1, 0.0) / (_PQ_C2 - _PQ_C3 * p), 1.0 / _PQ_M1)


@lru_cache(maxsize=2)
def _linear_lut(transfer: int) -> np.ndarray:
    """Every 16-bit signal level → PQ's display light (cd/m²) or HLG's scene light, float32."""
    signal = np.arange(65536, dtype=np.float64) / 65535.0
    return (_pq_eotf(signal) if transfer == PQ else _hlg_inverse_oetf(signal)).astype(np.float32)


def display_light(rgb16: np.ndarray, transfer: int, peak: float = NOMINAL_PEAK) -> np.ndarray:
    """``(H, W, 3)`` uint16 BT.2020 RGB signal → float32 linear BT.2020 display light in cd/m² (pure).

    HLG through the OOTF of a display of ``peak`` cd/m² (its system gamma, ``1.2 + 0.42·log10(peak/1000)``).
    """
    if not is_hdr(transfer):
        raise ValueError(f"transfer characteristic {transfer} is not HDR")
    linear = _linear_lut(transfer)[rgb16]
    if transfer == PQ:
        return linear
    gamma = 1.2 + 0.42 * math.log10(peak / 1000.0)
    luma = np.maximum(cv2.transform(linear, _BT2020_LUMA[None]), np.float32(1e-12))
    return linear * (np.float32(peak) * cv2.pow(luma, gamma - 1.0))[..., None]


def tone_curve(x: np.ndarray, peak: float) -> np.ndarray:
    """Relative light (1 = SDR white) → [0, 1]: the identity up to :data:`KNEE`, then the excess
    rolled off so that ``peak`` reaches 1 (extended Reinhard, slope 1 at the knee), 1 above it (pure)."""
    span = np.float32(max(peak - KNEE, 1e-6) / (1.0 - KNEE))
    t = np.maximum(x - np.float32(KNEE), 0.0) / np.float32(1.0 - KNEE)
    rolled = np.float32(KNEE) + np.float32(1.0 - KNEE) * t * (1.0 + t / span**2) / (1.0 + t)
    return np.where(x <= KNEE, x, np.minimum(rolled, 1.0)).astype(np.float32)


@lru_cache(maxsize=1)
def _encode_lut() -> np.ndarray:
    """The BT.1886 signal (uint8) of relative light ``(i / 4095)²``: indexed by the light's square
    root, no step is over a quarter of a level, down to black."""
    root = np.arange(_ROOT_STEPS + 1, dtype=np.float64) / _ROOT_STEPS
    return np.clip(np.power(root * root, 1.0 / 2.4) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def to_sdr(rgb16: np.ndarray, transfer: int, peak: float = NOMINAL_PEAK) -> np.ndarray:
    """An HDR frame, ``(H, W, 3)`` uint16 RGB signal in BT.2020 primaries, as the ``(H, W, 3)`` uint8
    BT.709 SDR frame a player shows for it (pure; the steps in the module's docstring)."""
    light = display_light(rgb16, transfer, peak)
    rel = np.maximum(cv2.transform(light, BT2020_TO_BT709 / np.float32(REFERENCE_WHITE)), np.float32(0.0))
    top = np.maximum(np.maximum(rel[..., 0], rel[..., 1]), rel[..., 2])  # (a reduction over 3 is slower)
    gain = tone_curve(top, peak / REFERENCE_WHITE) / np.maximum(top, np.float32(1e-12))
    root = cv2.sqrt(np.minimum(rel * gain[..., None], np.float32(1.0)))
    return _encode_lut()[(root * np.float32(_ROOT_STEPS) + np.float32(0.5)).astype(np.int32)]
