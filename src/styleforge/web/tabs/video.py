"""Video tab: a short clip through an instant style, a photo's look, or Gatys (live frames while it runs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...errors import InputError, StyleforgeError
from .. import modes, video_tab
from ..common import (
    OWN,
    Context,
    cancel_handler,
    check_image,
    check_upload,
    gr,
    job_updates,
    label_of,
    page_message,
    photo_input,
    unavailable,
)
from ..video_tab import MODES, VideoResult, check_clip

MODE_HELP = {
    "instant": "instant: a painting's style, seconds",
    "photo": "photo: another photo's colours and light, seconds",
    "gatys": "gatys: painted frame by frame, minutes (small size)",
}


def handlers(ctx: Context, out_dir: Path) -> dict[str, Any]:
    limits = ctx.limits

    def run(
        clip: str | None, mode: str, style: str | None, own: str | None, size: float, cons: float, request: gr.Request
    ) -> Iterator[tuple[Any, ...]]:
        try:
            if not clip:
                raise InputError("upload a clip first")
            check_clip(Path(clip), limits.max_video_seconds, label=label_of(clip, "clip.mp4"))
            if not style:
                raise InputError("pick a style")
            style_arg: str | Path = style
            style_label = None
            if style == OWN:
                if not own:
                    raise InputError("add your own style image first, or pick a style")
                check_image(own, limits, what="style image")
                style_arg, style_label = Path(own), label_of(own, "style.jpg")
        except StyleforgeError as e:
            yield None, f"⚠ {page_message(e)}", "", gr.update()
            return

        def job(**kw: Any) -> VideoResult:  # video_tab.video_job: with --broker, a job on the queue (web.remote)
            return video_tab.video_job(
                Path(clip),
                out_dir,
                mode=mode,
                style=style_arg,
                size=int(size),
                consistency=float(cons),
                max_seconds=limits.max_video_seconds,
                clip_label=label_of(clip, "clip.mp4"),
                style_label=style_label,
                **kw,
            )

        def finish(res: VideoResult) -> tuple[Any, ...]:
            return None, f"Done: {res.info}", res.command, res.image

        yield from job_updates(ctx, job, request, finish, extra=1)

    def on_clip(clip: str | None) -> tuple[Any, str]:
        msg = check_upload(clip, limits, what="clip")
        return (None if msg else gr.update()), msg

    return {"run": run, "cancel": cancel_handler(ctx, extra=1), "check_clip": on_clip}


def build(ctx: Context) -> None:
    if ctx.avail["video"]:
        unavailable(ctx.avail["video"])
        return
    out_dir = ctx.work / "video"
    out_dir.mkdir(parents=True, exist_ok=True)
    instant_names = list(modes.instant_styles(ctx.settings.instant_models))
    choices = sorted(set(instant_names) | set(ctx.style_names))
    h = handlers(ctx, out_dir)
    max_s = ctx.limits.max_video_seconds
    first: str | None = ctx.default_style if ctx.default_style in choices else (choices[0] if choices else None)
    with gr.Row():
        with gr.Column():
            status = gr.Markdown(elem_id="video-upload-status", elem_classes="sf-status")
            clip = gr.Video(
                label=f"Your clip (up to {max_s:g} s)", sources=["upload"], elem_id="video-clip", height=220
            )
            with gr.Row():
                mode = gr.Radio(
                    list(MODES),
                    value="instant",
                    label="Mode",
                    info=" · ".join(MODE_HELP.values()),
                    elem_id="video-mode",
                )
            with gr.Row():
                style = gr.Dropdown(
                    [*choices, OWN],
                    value=first,
                    label="Style (a painting; in photo mode, its colours)",
                    elem_id="video-style",
                    scale=2,
                    min_width=120,
                )
                own = photo_input(
                    ctx,
                    "Your own style image or photo",
                    "video-own",
                    status,
                    what="style image",
                    sources=("upload",),
                    height=110,
                )
                own.min_width = 120
            with gr.Row():
                go = gr.Button("Stylise video", variant="primary", elem_id="video-run")
                go_heavy = gr.Button("Paint video (Gatys)", variant="primary", visible=False, elem_id="video-run-gatys")
                stop = gr.Button("Cancel", variant="stop", elem_id="video-cancel")
            with gr.Row():
                size = gr.Slider(64, 720, value=384, step=16, label="Size (long side, px)", elem_id="video-size")
                cons = gr.Slider(
                    0.0,
                    0.9,
                    value=0.5,
                    step=0.05,
                    label="Consistency (0 = each frame alone)",
                    elem_id="video-consistency",
                )
        with gr.Column():
            info = gr.Markdown(elem_id="video-info", elem_classes="sf-status")
            live = gr.Image(
                label="Live picture (the latest frame)", interactive=False, buttons=[], height=220, elem_id="video-live"
            )
            out = gr.Video(label="Result", interactive=False, elem_id="video-result")
            cmd = gr.Textbox(
                label="Same result from the command line",
                interactive=False,
                elem_id="video-cmd",
                elem_classes="sf-cmd",
                lines=2,
                buttons=["copy"],
            )

    def own_selected(path: str | None) -> Any:
        return OWN if path and not check_upload(path, ctx.limits, what="style image") else gr.update()

    clip.upload(h["check_clip"], clip, [clip, status], api_visibility="private", queue=False, show_progress="hidden")
    own.upload(own_selected, own, style, api_visibility="private", queue=False, show_progress="hidden")
    inputs = [clip, mode, style, own, size, cons]
    outs = [live, info, cmd, out]
    fast = {**ctx.fast, "show_progress": "hidden"}
    e1 = go.click(h["run"], inputs, outs, api_name="video", **fast)  # instant / photo: the fast queue
    e2 = go_heavy.click(h["run"], inputs, outs, api_name="video_gatys", **ctx.heavy)
    stop.click(h["cancel"], None, outs, cancels=[e1, e2], api_visibility="private", queue=False)

    def switch(m: str) -> tuple[Any, Any]:
        return gr.update(visible=m != "gatys"), gr.update(visible=m == "gatys")

    mode.change(switch, mode, [go, go_heavy], api_visibility="private", queue=False, show_progress="hidden")
