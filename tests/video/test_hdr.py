"""HDR clips (HLG from phones, PQ / HDR10) are shown as an SDR player shows them, not flat and grey."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import pytest
from av.video.reformatter import Colorspace

from styleforge.video.container import read_frames
from styleforge.video.hdr import HLG, KNEE, PQ, REFERENCE_WHITE, to_sdr, tone_curve

#: Linear BT.709 RGB → linear BT.2020 RGB (ITU-R BT.2087), the inverse of what the reader applies.
BT709_TO_BT2020 = np.array([[0.6274, 0.3293, 0.0433], [0.0691, 0.9195, 0.0114], [0.0164, 0.0880, 0.8956]])


def hdr_signal(sdr: np.ndarray, transfer: int) -> np.ndarray:
    """An SDR picture carried in HDR as ITU-R BT.2408 places it (SDR white at 203 cd/m²): uint8
    BT.709 → uint16 BT.2020 HLG or PQ signal, written from BT.2100's formulas (the forward direction)."""
    light = ((sdr / 255.0) ** 2.4 * REFERENCE_WHITE) @ BT709_TO_BT2020.T  # display light, cd/m²
    if transfer == HLG:  # inverse OOTF of the 1000 cd/m² display (gamma 1.2), then the OETF
        y_d = light @ np.array([0.2627, 0.6780, 0.0593])
        y_s = (np.maximum(y_d, 1e-12) / 1000.0) ** (1 / 1.2)
        e = light / (1000.0 * y_s**0.2)[..., None]
        a = 0.17883277
        b, c = 1 - 4 * a, 0.5 - a * math.log(4 * a)
        signal = np.where(e <= 1 / 12, np.sqrt(3 * e), a * np.log(np.maximum(12 * e - b, 1e-12)) + c)
    else:  # PQ's inverse EOTF
        m1, m2, c1, c2, c3 = 2610 / 16384, 2523 / 4096 * 128, 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
        y = (light / 10000.0) ** m1
        signal = ((c1 + c2 * y) / (1 + c3 * y)) ** m2
    return np.clip(np.round(signal * 65535), 0, 65535).astype(np.uint16)


def write_hdr_clip(path: Path, frames: list[np.ndarray], transfer: int) -> Path:
    """10-bit 4:4:4 FFV1 in Matroska, tagged BT.2020 / ``transfer`` / limited range (lossless, so
    only the 10-bit signal's rounding stands between the picture and what is read back)."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("ffv1", rate=10)
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv444p10le"
        cc = s.codec_context
        cc.color_trc, cc.color_primaries, cc.colorspace, cc.color_range = transfer, 9, 9, 1
        for f in frames:
            vf = av.VideoFrame.from_ndarray(hdr_signal(f, transfer), format="rgb48le").reformat(
                format="yuv444p10le", dst_colorspace=Colorspace.BT2020, dst_color_range=1
            )
            vf.color_trc, vf.color_primaries, vf.colorspace, vf.color_range = transfer, 9, 9, 1
            for p in s.encode(vf):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def picture(h: int = 48, w: int = 64) -> np.ndarray:
    """Muted colours and greys of an everyday photo, up to level 220 (below the knee: shown as filmed)."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([40 + 2.5 * x, 30 + 3.5 * y, 120 + x - y], -1).clip(0, 220).astype(np.uint8)


def test_the_tone_curve_keeps_sdr_light_and_rolls_highlights_off_smoothly() -> None:
    x = np.linspace(0.0, 6.0, 6001, dtype=np.float32)
    y = tone_curve(x, 1000 / REFERENCE_WHITE)
    below = x <= KNEE
    assert np.array_equal(y[below], x[below])
    assert np.all(np.diff(y) >= 0) and y.max() == pytest.approx(1.0)
    assert tone_curve(np.float32([1000 / REFERENCE_WHITE]), 1000 / REFERENCE_WHITE)[0] == pytest.approx(1.0)
    slope = np.diff(y) / np.diff(x)
    k = int(np.searchsorted(x, KNEE))
    assert slope[k - 2] == pytest.approx(1.0) and slope[k + 1] == pytest.approx(1.0, abs=0.02)  # no kink: no banding


def test_hlg_reference_white_is_bright_and_its_peak_is_white() -> None:
    level = {v: to_sdr(np.full((1, 1, 3), round(v * 65535), np.uint16), HLG)[0, 0] for v in (0.0, 0.5, 0.75, 1.0)}
    assert level[0.0].max() == 0 and level[1.0].min() == 255
    assert level[0.75].min() >= 235  # BT.2408's reference white (a sheet of paper), not 191 as SDR
    assert level[0.0][0] < level[0.5][0] < level[0.75][0] < level[1.0][0]


def test_a_green_outside_bt709_is_clipped_to_green_not_wrapped() -> None:
    green = np.zeros((1, 1, 3), np.uint16)
    green[..., 1] = round(0.6 * 65535)  # pure BT.2020 green, outside BT.709
    r, g, b = to_sdr(green, HLG)[0, 0]
    assert g > 150 and r == 0 and b == 0


@pytest.mark.parametrize("transfer", [HLG, PQ], ids=["hlg", "pq"])
def test_an_hdr_clip_is_read_as_a_player_shows_it(
    tmp_path: Path, transfer: int, caplog: pytest.LogCaptureFixture
) -> None:
    """An SDR picture carried in HLG / PQ comes back as it was; read as SDR (before), PQ was flat and
    grey, and HLG dim and pale (its BT.2020 colours shown as BT.709, its whites at 75 %)."""
    sdr = picture()
    clip = write_hdr_clip(tmp_path / "hdr.mkv", [sdr] * 3, transfer)
    with caplog.at_level("INFO", logger="styleforge"):
        frames = list(read_frames(clip))
        list(read_frames(clip))  # a command reads a clip more than once (probe, colour fit, frames)
    assert len(frames) == 3
    assert sum("is HDR" in r.message for r in caplog.records) == 1  # said once, not per frame or read
    err = np.abs(frames[0].astype(int) - sdr)
    assert np.median(err) <= 1 and np.percentile(err, 99) <= 3, (np.median(err), err.max())
    with av.open(str(clip)) as c:
        as_sdr = next(c.decode(video=0)).to_ndarray(format="rgb24")
    assert np.abs(as_sdr.astype(int) - sdr).mean() > 10  # what the reader showed before
    half = next(read_frames(clip, size=(32, 24)))  # the mapping runs after the resize: same picture
    assert half.shape == (24, 32, 3)
    assert np.abs(half.astype(int) - sdr[::2, ::2].astype(int)).mean() < 4
