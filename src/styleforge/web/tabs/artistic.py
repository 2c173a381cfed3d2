"""Artistic tab: Gatys et al. — a painting's style on your photo, with a live picture while it paints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from PIL import Image

from ...errors import StyleforgeError
from .. import modes
from ..common import (
    NONE,
    OWN,
    Context,
    cancel_handler,
    check_image,
    gr,
    job_updates,
    label_of,
    own_style_input,
    page_message,
    photo_input,
    result_column,
    save_png,
    style_gallery,
    unavailable,
    wire_style_gallery,
)


def handlers(ctx: Context) -> dict[str, Any]:
    settings, limits = ctx.settings, ctx.limits

    def run(
        content: str | None,
        s1: str,
        w1: float,
        s2: str,
        w2: float,
        s3: str,
        w3: float,
        own: str | None,
        preset: str,
        size: float,
        strength: float,
        keep_colors: bool,
        steps: float,
        request: gr.Request,
    ) -> Iterator[tuple[Any, ...]]:
        try:
            img = check_image(content, limits, what="photo")
            picked: list[tuple[str | Image.Image, float]] = []
            labels: list[str] = []
            own_img = None
            for s, w in ((s1, w1), (s2, w2), (s3, w3)):
                if not s or s == NONE or w <= 0:
                    continue
                if s == OWN:
                    if not own:
                        raise modes.InputError("add your own style image first, or pick a style in the gallery")
                    own_img = own_img or check_image(own, limits, what="style image")
                    picked.append((own_img, float(w)))
                    labels.append(label_of(own, "style.jpg"))
                else:
                    picked.append((s, float(w)))
                    labels.append(s)
            if not picked:
                raise modes.InputError("pick at least one style with a weight above 0")
            if not 64 <= int(size) <= limits.max_side:
                raise modes.InputError(f"the size must be between 64 and {limits.max_side} pixels")
        except StyleforgeError as e:
            yield None, f"⚠ {page_message(e)}", ""
            return

        def job(**kw: Any) -> modes.ModeResult:
            return modes.artistic(
                img,
                picked,
                size=int(size),
                preset=preset,
                strength=float(strength),
                original_colors=bool(keep_colors),
                iterations=int(steps) or None,
                content_label=label_of(content),
                style_labels=labels,
                device=settings.device,
                **kw,
            )

        def finish(res: modes.ModeResult) -> tuple[Any, ...]:
            path = save_png(
                res.image,
                ctx.downloads(),
                photo=label_of(content),
                mode="artistic",
                style="+".join(labels) if len(labels) < 3 else f"{labels[0]}+{len(labels) - 1}",
                command=res.command,
            )
            return path, f"Done: {res.info}", res.command

        yield from job_updates(ctx, job, request, finish)

    return {"run": run, "cancel": cancel_handler(ctx)}


def build(ctx: Context) -> None:
    if ctx.avail["artistic"]:
        unavailable(ctx.avail["artistic"])
        return
    limits, items, names = ctx.limits, list(ctx.thumbs), ctx.style_names
    first = ctx.default_style
    h = handlers(ctx)
    with gr.Row():
        with gr.Column():
            status = gr.Markdown(elem_id="artistic-upload-status", elem_classes="sf-status")
            content = photo_input(ctx, "Your photo", "artistic-content", status)
            gallery = style_gallery(ctx, items, "artistic-gallery", names.index(first) if first in names else None)
            with gr.Row():
                s1 = gr.Dropdown(
                    [*names, OWN], value=first, label="Style", elem_id="artistic-style1", scale=2, min_width=120
                )
                own = own_style_input(ctx, "artistic-own", status)
            with gr.Row():
                go = gr.Button("Paint", variant="primary", elem_id="artistic-run")
                stop = gr.Button("Cancel", variant="stop", elem_id="artistic-cancel")
            with gr.Row():
                preset = gr.Radio(
                    list(modes.ARTISTIC_PRESETS),
                    value="fast",
                    label="Quality / speed",
                    info="fast: EfficientNet preview · balanced/best: VGG16",
                    elem_id="artistic-preset",
                )
                size = gr.Slider(
                    64,
                    limits.max_side,
                    value=min(384, limits.max_side),
                    step=32,
                    label="Size (long side, px)",
                    elem_id="artistic-size",
                )
            with gr.Accordion("Blend styles", open=False):
                w1 = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Weight of the style above", elem_id="artistic-w1")
                with gr.Row():
                    s2 = gr.Dropdown([NONE, *names, OWN], value=NONE, label="Second style", elem_id="artistic-style2")
                    w2 = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Its weight", elem_id="artistic-w2")
                with gr.Row():
                    s3 = gr.Dropdown([NONE, *names, OWN], value=NONE, label="Third style", elem_id="artistic-style3")
                    w3 = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Its weight", elem_id="artistic-w3")
            with gr.Accordion("Advanced", open=False):
                strength = gr.Slider(0.1, 5.0, value=1.0, step=0.1, label="Style strength", elem_id="artistic-strength")
                colors = gr.Checkbox(label="Keep original colours", value=False, elem_id="artistic-colors")
                steps = gr.Slider(
                    0, 500, value=0, step=1, label="Steps per scale (0 = the preset's)", elem_id="artistic-steps"
                )
        with gr.Column():
            out, info, cmd = result_column("artistic")

    wire_style_gallery(ctx, items, names, gallery, s1, own, status)
    evt = go.click(
        h["run"],
        [content, s1, w1, s2, w2, s3, w3, own, preset, size, strength, colors, steps],
        [out, info, cmd],
        api_name="artistic",
        **ctx.heavy,
    )
    stop.click(h["cancel"], None, [out, info, cmd], cancels=[evt], api_visibility="private", queue=False)
