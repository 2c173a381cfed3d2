"""Video: every mode on a clip, with temporal consistency (optical flow + blind blending).

Python API::

    from styleforge.video import VideoOptions, render_video, stylize_video
    for frame in stylize_video("clip.mp4", instant="starry_night"):   # (H, W, 3) uint8 RGB
        ...
    render_video("clip.mp4", "out.mp4", make_stylizer(style="starry_night"), VideoOptions(size=384))

Modules: :mod:`.container` (PyAV reading/writing), :mod:`.flow` (DIS flow, warping, occlusion,
E_warp), :mod:`.temporal` (the consistency pass), :mod:`.stylizers` (one per mode),
:mod:`.pipeline` (the loop, partial files, resume).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "RenderResult",
    "TemporalBlender",
    "VideoOptions",
    "make_stylizer",
    "probe",
    "render_video",
    "stylize_frames",
    "stylize_video",
]

if TYPE_CHECKING:
    from .container import probe
    from .pipeline import RenderResult, VideoOptions, render_video, stylize_frames, stylize_video
    from .stylizers import make_stylizer
    from .temporal import TemporalBlender

_WHERE = {"probe": "container", "make_stylizer": "stylizers", "TemporalBlender": "temporal"}


def __getattr__(name: str) -> Any:  # PyAV and OpenCV are imported on first use
    if name in __all__:
        import importlib

        return getattr(importlib.import_module(f".{_WHERE.get(name, 'pipeline')}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
