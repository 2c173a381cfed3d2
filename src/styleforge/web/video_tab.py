"""The Video tab: a short clip through any fast mode (fast queue) or Gatys (heavy queue).

:func:`video_job` is the adapter (no Gradio in it, tested directly); :func:`build` lays out
the tab inside :func:`styleforge.web.app.create_app` and reuses its job runner, so progress,
Cancel and the time limit behave as on the Artistic tab.
"""

from __future__ import annotations

__all__ = ["VideoResult", "build", "unavailable", "video_job"]

import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from .limits import JobCancelled, JobTimeout

MODES = ("instant", "photo", "gatys")
#: Gatys on the page: small and few steps (the CLI has every option).
GATYS_SIZE, GATYS_ITERATIONS = 256, 40


def unavailable() -> str | None:
    """Why the tab cannot work here (PyAV missing), else ``None``."""
    import importlib.util

    return None if importlib.util.find_spec("av") else "the Video tab needs PyAV (pip install 'styleforge[video]')"


@dataclass
class VideoResult:
    image: str  # the output video's path (the first output of the page's job runner)
    command: str
    info: str = ""


def video_job(clip: Path, out_dir: Path, *, mode: str, style: str, size: int = 384, consistency: float = 0.5,
              max_seconds: float = 10.0, clip_label: str = "clip.mp4",
              on_progress: Callable[[float, str, Any], None] | None = None,
              should_stop: Callable[[], bool] | None = None, deadline: float | None = None) -> VideoResult:
    """Stylise ``clip`` into ``out_dir`` (one new file); raise :class:`JobCancelled` / :class:`JobTimeout`."""
    from ..video.pipeline import VideoOptions, render_video
    from ..video.stylizers import make_stylizer

    if mode not in MODES:
        raise InputError(f"unknown video mode {mode!r}; choose {', '.join(MODES)}")
    if not 0 <= consistency < 1:
        raise InputError("consistency must be in [0, 1)")
    if mode == "gatys":
        from ..transfer.gatys import GatysConfig

        size = min(size, GATYS_SIZE)
        cfg = GatysConfig(image_size=size, iterations=GATYS_ITERATIONS, backbone="effnet-lite0", seed=0)
        factory = lambda: make_stylizer(style=[style], cfg=cfg)  # noqa: E731
        flag = f"--style {shlex.quote(style)} --backbone effnet-lite0 --iterations {GATYS_ITERATIONS}"
    elif mode == "instant":
        factory = lambda: make_stylizer(instant=style)  # noqa: E731
        flag = f"--instant {shlex.quote(style)}"
    else:
        factory = lambda: make_stylizer(photo_style=style)  # noqa: E731
        flag = f"--photo-style {shlex.quote(style)}"
    out = out_dir / f"video-{time.strftime('%H%M%S')}-{time.monotonic_ns() % 10**6}.mp4"

    def on_frame(done: int, total: int, frame: Any) -> None:
        if should_stop is not None and should_stop():
            raise JobCancelled()
        if deadline is not None and time.monotonic() > deadline:
            raise JobTimeout()
        if on_progress is not None:
            on_progress(done / total if total else 0.0, f"frame {done}/{total or '?'}", None)

    t0 = time.perf_counter()
    try:
        res = render_video(clip, out, factory, VideoOptions(size=size, consistency=consistency),
                           on_frame=on_frame, max_seconds=max_seconds)
    finally:  # a cancelled job leaves nothing behind on the server
        for p in out_dir.glob(out.stem + ".partial.*"):
            p.unlink(missing_ok=True)
    cons = "--no-consistency" if consistency == 0 else (f"--consistency {consistency:g}" if consistency != 0.5 else "")
    cmd = " ".join(x for x in ("styleforge video", shlex.quote(clip_label), flag, f"--size {size}", cons,
                               "-o out.mp4") if x)
    return VideoResult(str(out), cmd, f"{res.frames} frames in {time.perf_counter() - t0:.1f} s "
                                      f"({res.frames_per_second:.1f} frames/s)")


def build(gr: Any, *, work: Path, max_seconds: float, style_names: list[str], instant_names: list[str],
          run_job: Callable[..., Any], cancel: Callable[..., Any], heavy: dict[str, Any], fast: dict[str, Any]) -> None:
    """The tab's components and events (called inside ``gr.Tab``)."""
    out_dir = work / "video"
    out_dir.mkdir(parents=True, exist_ok=True)
    with gr.Row():
        with gr.Column():
            v_clip = gr.Video(label=f"Your clip (up to {max_seconds:g} s)", sources=["upload"], elem_id="video-clip")
            v_mode = gr.Radio(list(MODES), value="instant", label="Mode",
                              info="instant / photo: seconds · gatys: minutes (small size, heavy queue)",
                              elem_id="video-mode")
            v_style = gr.Dropdown(sorted(set(instant_names) | set(style_names)), value=(instant_names or style_names or [None])[0],
                                  label="Style (instant model, painting or photo)", elem_id="video-style")
            with gr.Row():
                v_size = gr.Slider(64, 720, value=384, step=16, label="Size (long side, px)", elem_id="video-size")
                v_cons = gr.Slider(0.0, 0.9, value=0.5, step=0.05, label="Consistency (0 = per-frame)")
            with gr.Row():
                v_run = gr.Button("Stylise video", variant="primary", elem_id="video-run")
                v_run_heavy = gr.Button("Paint video (Gatys)", variant="primary", visible=False, elem_id="video-run-gatys")
                v_cancel = gr.Button("Cancel", variant="stop", elem_id="video-cancel")
        with gr.Column():
            v_out = gr.Video(label="Result", interactive=False, elem_id="video-result")
            v_info = gr.Markdown(elem_id="video-info")
            v_cmd = gr.Textbox(label="Same result from the command line", interactive=False, elem_id="video-cmd",
                               elem_classes="sf-cmd", lines=2)

    def switch(mode: str) -> tuple[Any, Any]:
        return gr.update(visible=mode != "gatys"), gr.update(visible=mode == "gatys")

    v_mode.change(switch, v_mode, [v_run, v_run_heavy], api_visibility="private", queue=False)

    def run(clip: str | None, mode: str, style: str | None, size: float, cons: float, request: Any,
            progress: Any = gr.Progress()) -> Any:
        try:
            if not clip:
                raise InputError("upload a clip first")
            if not style:
                raise InputError("pick a style")

            def job(**kw: Any) -> VideoResult:
                return video_job(Path(clip), out_dir, mode=mode, style=style, size=int(size), consistency=float(cons),
                                 max_seconds=max_seconds, clip_label=Path(clip).name, **kw)

            yield from run_job(job, request, progress)
        except InputError as e:
            raise gr.Error(str(e), print_exception=False) from None

    run.__annotations__.update(request=gr.Request, progress=gr.Progress)  # how Gradio finds what to inject
    inputs = [v_clip, v_mode, v_style, v_size, v_cons]
    e1 = v_run.click(run, inputs, [v_out, v_info, v_cmd], api_name="video", **fast)
    e2 = v_run_heavy.click(run, inputs, [v_out, v_info, v_cmd], api_name="video_gatys", **heavy)
    v_cancel.click(cancel, None, v_info, cancels=[e1, e2], api_visibility="private", queue=False)
