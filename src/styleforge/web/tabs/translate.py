"""Translate tab: a pix2pix / CycleGAN / CUT generator on your image (a published model, or your own)."""

from __future__ import annotations

from typing import Any

from .. import modes
from ..common import (
    Context,
    check_image,
    fast_job,
    gr,
    in_tab,
    label_of,
    photo_input,
    result_column,
    save_png,
    unavailable,
)
from ..limits import list_checkpoints, resolve_checkpoint


def model_picker(ctx: Context, label: str, elem_id: str) -> Any:
    """A dropdown of the server's trained models (names inside its models folder) with a refresh button."""
    names = list_checkpoints(ctx.settings.models_dir)
    if not names:
        gr.Markdown("This server has no trained models of its own yet.", elem_id=f"{elem_id}-none")
    with gr.Row():
        pick = gr.Dropdown(names, value=names[0] if names else None, label=label, elem_id=elem_id, scale=3)
        again = gr.Button("↻", scale=0, min_width=40, elem_id=f"{elem_id}-refresh")

    def refresh(current: str | None) -> Any:
        found = list_checkpoints(ctx.settings.models_dir)
        return gr.update(choices=found, value=current if current in found else (found[0] if found else None))

    again.click(refresh, pick, pick, api_visibility="private", queue=False)
    return pick


def handlers(ctx: Context) -> dict[str, Any]:
    settings, limits = ctx.settings, ctx.limits

    @in_tab()
    def run(
        content: str | None, ckpt: str | None, direction: str, size: float, pre: str | None = None
    ) -> tuple[Any, str, str]:
        pre = modes.pretrained_choice(pre)
        if not pre and not ckpt:
            raise modes.InputError("pick a published model (or one of this server's models)")
        if not pre and settings.models_dir is None:
            raise modes.InputError("this server has no models of its own; pick a published model")
        path = None if pre else resolve_checkpoint(settings.models_dir, ckpt)
        img = check_image(content, limits, what="image")
        res = fast_job(
            ctx,
            lambda: modes.translate(
                img,
                path,
                checkpoint_label=str(ckpt),
                direction=None if direction == "auto" else direction,
                size=min(int(size), limits.max_side),
                content_label=label_of(content),
                device=settings.device,
                pretrained=pre,
            ),
        )
        path_out = save_png(
            res.image,
            ctx.downloads(),
            photo=label_of(content),
            mode="translate",
            style=pre or label_of(ckpt, "model"),
            command=res.command,
        )
        return path_out, f"Done: {res.info}", res.command

    return {"run": run}


def build(ctx: Context) -> None:
    if ctx.avail["translate"]:
        unavailable(ctx.avail["translate"])
        return
    h = handlers(ctx)
    with gr.Row():
        with gr.Column():
            status = gr.Markdown(elem_id="translate-upload-status", elem_classes="sf-status")
            content = photo_input(ctx, "Your image", "translate-content", status, what="image")
            published = modes.pretrained_names()
            own = list_checkpoints(ctx.settings.models_dir)  # without models of its own, a published one leads
            pre = gr.Dropdown(
                [modes.NO_PRETRAINED, *published],
                value=modes.NO_PRETRAINED if own or not published else published[0],
                elem_id="translate-pretrained",
                label="Published model (downloaded once; used instead of the server's model)",
            )
            go = gr.Button("Translate", variant="primary", elem_id="translate-run")
            ckpt = model_picker(ctx, "…or one of this server's models", "translate-model")
            with gr.Row():
                direction = gr.Radio(
                    ["auto", "AtoB", "BtoA"], value="auto", label="Direction", elem_id="translate-direction"
                )
                size = gr.Slider(
                    64,
                    ctx.limits.max_side,
                    value=min(512, ctx.limits.max_side),
                    step=32,
                    label="Size (long side, px)",
                    elem_id="translate-size",
                )
        with gr.Column():
            out, info, cmd = result_column("translate")
    go.click(h["run"], [content, ckpt, direction, size, pre], [out, info, cmd], api_name="translate", **ctx.fast)
