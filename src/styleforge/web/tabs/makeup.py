"""Makeup tab: copy a reference face's makeup (no model needed), or apply a trained makeup model."""

from __future__ import annotations

from collections.abc import Callable
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
from ..limits import resolve_checkpoint
from .translate import model_picker

REGIONS = ["lips", "eyes", "brows", "skin"]


def handlers(ctx: Context) -> dict[str, Any]:
    settings, limits = ctx.settings, ctx.limits

    def by_example(action: str) -> Callable[..., tuple[Any, str, str]]:
        @in_tab()
        def run(content: str | None, ref: str | None, regions: list[str], strength: float) -> tuple[Any, str, str]:
            img = check_image(content, limits, what="photo")
            ref_img = check_image(ref, limits, what="reference photo") if action == "transfer" and ref else None
            res = fast_job(
                ctx,
                lambda: modes.makeup_by_example(
                    img,
                    ref_img,
                    action=action,
                    regions=list(regions or []),
                    strength=float(strength),
                    content_label=label_of(content),
                    reference_label=label_of(ref, "reference.jpg"),
                ),
            )
            path = save_png(
                res.image,
                ctx.downloads(),
                photo=label_of(content),
                mode=f"makeup-{action}",
                style=label_of(ref, "") if action == "transfer" else None,
                command=res.command,
            )
            return path, f"Done: {res.info}", res.command

        return run

    @in_tab()
    def with_model(content: str | None, ckpt: str | None, action: str, strength: float) -> tuple[Any, str, str]:
        if settings.models_dir is None:
            raise modes.InputError("this server has no makeup models; use “Copy makeup from a reference face” above")
        path = resolve_checkpoint(settings.models_dir, ckpt)
        img = check_image(content, limits, what="photo")
        res = fast_job(
            ctx,
            lambda: modes.makeup(
                img,
                path,
                checkpoint_label=str(ckpt),
                action=action,
                strength=float(strength),
                content_label=label_of(content),
                device=settings.device,
            ),
        )
        out = save_png(
            res.image,
            ctx.downloads(),
            photo=label_of(content),
            mode=f"makeup-{action}",
            style=None,
            command=res.command,
        )
        return out, f"Done: {res.info}", res.command

    return {"transfer": by_example("transfer"), "remove": by_example("remove"), "model": with_model}


def build(ctx: Context) -> None:
    if ctx.avail["makeup"]:
        unavailable(ctx.avail["makeup"])
        return
    h = handlers(ctx)
    with gr.Row():
        with gr.Column():
            status = gr.Markdown(elem_id="makeup-upload-status", elem_classes="sf-status")
            gr.Markdown("**Copy makeup from a reference face** (no model needed), or take eye shadow and lipstick off.")
            with gr.Row():
                content = photo_input(ctx, "A photo with a face", "makeup-content", status, height=200)
                ref = photo_input(
                    ctx,
                    "Reference face (wearing makeup)",
                    "makeup-reference",
                    status,
                    what="reference photo",
                    height=200,
                )
            with gr.Row():
                go = gr.Button("Transfer makeup", variant="primary", elem_id="makeup-transfer")
                remove = gr.Button("Remove makeup", elem_id="makeup-remove")
            with gr.Row():
                regions = gr.CheckboxGroup(REGIONS, value=REGIONS, label="Regions", elem_id="makeup-regions")
                strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Strength", elem_id="makeup-strength")
            with gr.Accordion("With a trained makeup model", open=False):
                ckpt = model_picker(ctx, "Makeup model", "makeup-model")
                action = gr.Radio(["add", "remove"], value="add", label="Makeup", elem_id="makeup-action")
                m_strength = gr.Slider(
                    0.0, 1.0, value=1.0, step=0.05, label="Model strength", elem_id="makeup-model-strength"
                )
                apply = gr.Button("Apply the model", elem_id="makeup-run")
        with gr.Column():
            out, info, cmd = result_column("makeup")
    outs = [out, info, cmd]
    go.click(h["transfer"], [content, ref, regions, strength], outs, api_name="makeup_transfer", **ctx.fast)
    remove.click(h["remove"], [content, ref, regions, strength], outs, api_name="makeup_remove", **ctx.fast)
    apply.click(h["model"], [content, ckpt, action, m_strength], outs, api_name="makeup", **ctx.fast)
