"""Instant tab: a feed-forward style in a second; pick it in the gallery or add your own image."""

from __future__ import annotations

from typing import Any

from .. import modes
from ..common import (
    OWN,
    Context,
    check_image,
    fast_job,
    gr,
    in_tab,
    label_of,
    own_style_input,
    photo_input,
    result_column,
    save_png,
    style_gallery,
    unavailable,
    wire_style_gallery,
)


def gallery_items(ctx: Context) -> list[tuple[str, str]]:
    """``(thumbnail, instant style name)`` for every style the tab offers."""
    thumb_of = {n: p for p, n in ctx.thumbs}
    return [
        (thumb_of[painting], name)
        for name, painting in modes.instant_styles(ctx.settings.instant_models).items()
        if painting in thumb_of
    ]


def stroke_size_range() -> tuple[float, float, float]:
    """The stroke-size slider's ``(minimum, maximum, default)``: the library's (``--style-scale``,
    :class:`~styleforge.instant.options.InstantOptions`), as the CLI and the API take them."""
    from ...instant.options import MAX_STYLE_SCALE, MIN_STYLE_SCALE, InstantOptions

    return MIN_STYLE_SCALE, MAX_STYLE_SCALE, InstantOptions().style_scale


def handlers(ctx: Context) -> dict[str, Any]:
    settings, limits = ctx.settings, ctx.limits

    @in_tab()
    def run(
        content: str | None,
        style: str | None,
        own: str | None,
        strength: float,
        keep_colors: bool,
        style_scale: float | None = None,
        refine: int = 0,
    ) -> tuple[Any, str, str]:
        img = check_image(content, limits, what="photo")
        use_own = style == OWN
        if use_own and not own:
            raise modes.InputError("add your own style image first, or pick a style in the gallery")
        own_img = check_image(own, limits, what="style image") if use_own else None
        res = fast_job(
            ctx,
            lambda: modes.instant(
                img,
                style=None if use_own else style,
                style_image=own_img,
                style_label=label_of(own, "style.jpg"),
                strength=float(strength),
                original_colors=bool(keep_colors),
                content_label=label_of(content),
                size=limits.max_side,
                models=settings.instant_models,
                device=settings.device,
                refine=refine,
                style_scale=None if style_scale is None else float(style_scale),
            ),
        )
        path = save_png(
            res.image,
            ctx.downloads(),
            photo=label_of(content),
            mode="instant",
            style=label_of(own) if use_own else style,
            command=res.command,
        )
        return path, f"Done: {res.info}", res.command

    def polish(*args: Any) -> tuple[Any, str, str]:
        out: tuple[Any, str, str] = run(*args, refine=modes.POLISH_STEPS)
        return out

    return {"run": run, "polish": polish}


def build(ctx: Context) -> None:
    if ctx.avail["instant"]:
        unavailable(ctx.avail["instant"])
        return
    items = gallery_items(ctx)
    names = [n for _, n in items]
    first = ctx.default_style if ctx.default_style in names else (names[0] if names else None)
    h = handlers(ctx)
    with gr.Row():
        with gr.Column():
            status = gr.Markdown(elem_id="instant-upload-status", elem_classes="sf-status")
            content = photo_input(ctx, "Your photo", "instant-content", status)
            gallery = style_gallery(ctx, items, "instant-gallery", names.index(first) if first in names else None)
            with gr.Row():
                style = gr.Dropdown(
                    [*names, OWN], value=first, label="Style", elem_id="instant-style", scale=2, min_width=120
                )
                own = own_style_input(ctx, "instant-own", status)
            with gr.Row():
                go = gr.Button("Stylise", variant="primary", elem_id="instant-run")
                polish = gr.Button(f"Polish ({modes.POLISH_STEPS} Gatys steps, slower)", elem_id="instant-polish")
            with gr.Accordion("Options", open=False):
                strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Strength", elem_id="instant-strength")
                colors = gr.Checkbox(label="Keep original colours", value=False, elem_id="instant-colors")
                lo, hi, default = stroke_size_range()
                scale = gr.Slider(
                    lo,
                    hi,
                    value=default,
                    step=0.25,
                    label="Stroke size (2 = strokes twice as large)",
                    elem_id="instant-style-scale",
                )
        with gr.Column():
            out, info, cmd = result_column("instant")

    wire_style_gallery(ctx, items, names, gallery, style, own, status)
    inputs = [content, style, own, strength, colors]
    # the page sends the stroke size too; the API's "instant" / "instant_polish" keep their five inputs
    # (Gradio-client callers of earlier versions), through events of a hidden button
    go.click(h["run"], [*inputs, scale], [out, info, cmd], api_name="instant_page", **ctx.fast)
    polish.click(
        h["polish"],
        [*inputs, scale],
        [out, info, cmd],
        api_name="instant_polish_page",
        **{**ctx.heavy, "show_progress": "minimal"},
    )  # seconds, no live picture: Gradio's own timer
    api = gr.Button(visible=False, elem_id="instant-api")
    api.click(h["run"], inputs, [out, info, cmd], api_name="instant", **ctx.fast)
    api.click(h["polish"], inputs, [out, info, cmd], api_name="instant_polish", **ctx.heavy)
