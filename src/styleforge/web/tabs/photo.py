"""Photo tab: another photo's colours and light, edges kept (fast method, or Deep Photo Style Transfer)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...errors import StyleforgeError
from .. import modes
from ..common import (
    Context,
    cancel_handler,
    check_image,
    fast_job,
    gr,
    in_tab,
    job_updates,
    label_of,
    page_message,
    photo_input,
    result_column,
    save_png,
    unavailable,
)

#: Deep Photo Style Transfer's largest size on the page (minutes of work already at this size).
DPST_MAX_SIDE = 384


def handlers(ctx: Context) -> dict[str, Any]:
    settings, limits = ctx.settings, ctx.limits

    def inputs(content: str | None, style: str | None, cmask: str | None, smask: str | None) -> tuple[Any, ...]:
        img = check_image(content, limits, what="photo")
        sty = check_image(style, limits, what="style photo")
        cm = check_image(cmask, limits, what="photo mask") if cmask else None
        sm = check_image(smask, limits, what="style mask") if smask else None
        return img, sty, cm, sm

    @in_tab(extra=1)
    def run(
        content: str | None, style: str | None, cmask: str | None, smask: str | None, size: float, strength: float
    ) -> tuple[Any, str, str, Any]:
        img, sty, cm, sm = inputs(content, style, cmask, smask)
        res = fast_job(
            ctx,
            lambda: modes.photo_fast(
                img,
                sty,
                content_mask=cm,
                style_mask=sm,
                size=int(size),
                strength=float(strength),
                content_label=label_of(content),
                style_label=label_of(style, "style.jpg"),
                mask_labels=(label_of(cmask), label_of(smask)),
            ),
        )
        path = save_png(
            res.image,
            ctx.downloads(),
            photo=label_of(content),
            mode="photo",
            style=label_of(style, "style.jpg"),
            command=res.command,
        )
        return path, f"Done: {res.info}", res.command, str(res.file) if res.file else None

    def run_dpst(
        content: str | None,
        style: str | None,
        cmask: str | None,
        smask: str | None,
        smooth: str,
        size: float,
        steps: float,
        request: gr.Request,
    ) -> Iterator[tuple[Any, ...]]:
        try:
            img, sty, cm, sm = inputs(content, style, cmask, smask)
            if not 64 <= int(size) <= DPST_MAX_SIDE:
                raise modes.InputError(
                    f"Deep Photo Style Transfer's size must be between 64 and {DPST_MAX_SIDE} pixels"
                )
        except StyleforgeError as e:
            yield None, f"⚠ {page_message(e)}", "", None
            return

        def job(**kw: Any) -> modes.ModeResult:
            return modes.photo(
                img,
                sty,
                content_mask=cm,
                style_mask=sm,
                smoothing=smooth,
                size=int(size),
                iterations=int(steps) or None,
                content_label=label_of(content),
                style_label=label_of(style, "style.jpg"),
                mask_labels=(label_of(cmask), label_of(smask)),
                device=settings.device,
                **kw,
            )

        def finish(res: modes.ModeResult) -> tuple[Any, ...]:
            path = save_png(
                res.image,
                ctx.downloads(),
                photo=label_of(content),
                mode="dpst",
                style=label_of(style, "style.jpg"),
                command=res.command,
            )
            return path, f"Done: {res.info}", res.command, None

        yield from job_updates(ctx, job, request, finish, extra=1)

    return {"run": run, "run_dpst": run_dpst, "cancel": cancel_handler(ctx, extra=1)}


def build(ctx: Context) -> None:
    if ctx.avail["photo"]:
        unavailable(ctx.avail["photo"])
        return
    limits = ctx.limits
    h = handlers(ctx)
    with gr.Row():
        with gr.Column():
            status = gr.Markdown(elem_id="photo-upload-status", elem_classes="sf-status")
            with gr.Row():
                content = photo_input(ctx, "Your photo", "photo-content", status, height=200)
                style = photo_input(
                    ctx, "Style photo (the look to copy)", "photo-style", status, what="style photo", height=200
                )
            with gr.Row():
                go = gr.Button("Transfer", variant="primary", elem_id="photo-run")
                stop = gr.Button("Cancel", variant="stop", elem_id="photo-cancel")
            with gr.Row():
                size = gr.Slider(
                    64,
                    limits.max_side,
                    value=limits.max_side,
                    step=32,
                    label="Size (long side, px)",
                    elem_id="photo-size",
                )
                strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Strength", elem_id="photo-strength")
            with gr.Accordion("Masks (optional; found automatically without them)", open=False):
                with gr.Row():
                    cmask = photo_input(ctx, "Photo mask", "photo-cmask", status, what="photo mask", height=140)
                    smask = photo_input(ctx, "Style mask", "photo-smask", status, what="style mask", height=140)
            with gr.Accordion(
                f"Deep Photo Style Transfer (optimisation: minutes, up to {DPST_MAX_SIDE} px)", open=False
            ):
                dsize = gr.Slider(
                    64,
                    DPST_MAX_SIDE,
                    value=min(256, DPST_MAX_SIDE),
                    step=32,
                    label=f"DPST size (long side, px, at most {DPST_MAX_SIDE})",
                    elem_id="photo-dpst-size",
                )
                smooth = gr.Radio(
                    list(modes.PHOTO_SMOOTHING),
                    value="fast",
                    label="Smoothing",
                    info="fast: guided filter · exact: closed form (slower)",
                    elem_id="photo-smooth",
                )
                steps = gr.Slider(
                    0,
                    500,
                    value=0,
                    step=1,
                    label="Evaluations per stage (0 = the default schedule)",
                    elem_id="photo-steps",
                )
                go_dpst = gr.Button("Transfer with DPST", elem_id="photo-run-dpst")
        with gr.Column():
            out, info, cmd = result_column("photo")
            look = gr.File(
                label="The look (.cube 3D LUT: styleforge look apply, Resolve, ffmpeg)",
                elem_id="photo-look",
                interactive=False,
            )

    e1 = go.click(
        h["run"], [content, style, cmask, smask, size, strength], [out, info, cmd, look], api_name="photo", **ctx.fast
    )
    e2 = go_dpst.click(
        h["run_dpst"],
        [content, style, cmask, smask, smooth, dsize, steps],
        [out, info, cmd, look],
        api_name="photo_dpst",
        **ctx.heavy,
    )
    stop.click(h["cancel"], None, [out, info, cmd, look], cancels=[e1, e2], api_visibility="private", queue=False)
