"""Visual sinks: a static HTML report (no server) and optional TensorBoard.

The engine talks to sinks through :class:`Sink`; a sink that cannot start
(TensorBoard not installed) is skipped with one log line — training never fails
because a viewer is missing.
"""

from __future__ import annotations

__all__ = ["HtmlReport", "Sink", "TensorBoardSink", "image_grid", "open_tensorboard"]

import html
import json
import logging
import os
from pathlib import Path
from typing import Any, Protocol

import torch
import torch.nn.functional as F

from ..io import atomic_path, save_image, tensor_to_pil

log = logging.getLogger("styleforge.engine")


class Sink(Protocol):
    def scalars(self, step: int, values: dict[str, float]) -> None: ...
    def images(
        self, epoch: int, step: int, grid: torch.Tensor, columns: list[str], metrics: dict[str, float]
    ) -> None: ...
    def close(self) -> None: ...


def image_grid(visuals: dict[str, torch.Tensor], *, pad: int = 2) -> torch.Tensor:
    """``{name: (N, 3, H, W)}`` in [0, 1] → one ``(3, H', W')`` grid: a row per sample, a column per name.

    Images of different sizes are resized to the first one's size.
    """
    cols = list(visuals.values())
    h, w = cols[0].shape[-2:]
    cols = [
        c if c.shape[-2:] == (h, w) else F.interpolate(c, size=(h, w), mode="bilinear", align_corners=False)
        for c in cols
    ]
    n = cols[0].shape[0]
    grid = torch.ones(3, n * (h + pad) + pad, len(cols) * (w + pad) + pad)
    for i in range(n):
        for j, c in enumerate(cols):
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            grid[:, y : y + h, x : x + w] = c[i, :3].float().clamp(0, 1).cpu()
    return grid


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:1.5em;background:#fafafa}}
section{{margin-bottom:2em}} img{{max-width:100%;image-rendering:pixelated;border:1px solid #ccc}}
table{{border-collapse:collapse;font-size:90%}} td,th{{padding:2px 8px;border-bottom:1px solid #ddd}}</style>
</head><body><h1>{title}</h1><p>Columns: {columns}. Newest epoch first. Static page, regenerated every epoch.</p>
{sections}</body></html>
"""


class HtmlReport:
    """``DIR/index.html`` with an image grid and the mean losses of every epoch (as the reference's ``web/``)."""

    def __init__(self, folder: str | os.PathLike[str], title: str = "styleforge training") -> None:
        self.dir = Path(folder)
        (self.dir / "images").mkdir(parents=True, exist_ok=True)
        self.title = title
        self.entries_path = self.dir / "entries.json"

    def _entries(self) -> list[dict[str, Any]]:
        try:
            return list(json.loads(self.entries_path.read_text()))
        except (FileNotFoundError, ValueError):
            return []

    def scalars(self, step: int, values: dict[str, float]) -> None:
        pass

    def images(self, epoch: int, step: int, grid: torch.Tensor, columns: list[str], metrics: dict[str, float]) -> None:
        name = f"images/epoch_{epoch:04d}.png"
        save_image(tensor_to_pil(grid), self.dir / name)
        entries = [e for e in self._entries() if e["epoch"] != epoch]
        entries.append({"epoch": epoch, "step": step, "image": name, "columns": columns, "metrics": metrics})
        entries.sort(key=lambda e: e["epoch"])
        with atomic_path(self.entries_path) as tmp:
            tmp.write_text(json.dumps(entries, indent=1))
        self.write(entries)

    def write(self, entries: list[dict[str, Any]]) -> None:
        sections = []
        for e in reversed(entries):
            rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.4g}</td></tr>" for k, v in e["metrics"].items())
            sections.append(
                f"<section><h2>epoch {e['epoch']} · step {e['step']}</h2>"
                f'<table>{rows}</table><p><img src="{html.escape(e["image"])}" alt="epoch {e["epoch"]}"></p></section>'
            )
        columns = html.escape(" | ".join(entries[-1]["columns"])) if entries else ""
        with atomic_path(self.dir / "index.html") as tmp:
            tmp.write_text(_PAGE.format(title=html.escape(self.title), columns=columns, sections="\n".join(sections)))

    def close(self) -> None:
        pass


class TensorBoardSink:
    """Scalars and image grids for TensorBoard (``pip install styleforge[tb]``)."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    def scalars(self, step: int, values: dict[str, float]) -> None:
        for k, v in values.items():
            self.writer.add_scalar(k, v, step)

    def images(self, epoch: int, step: int, grid: torch.Tensor, columns: list[str], metrics: dict[str, float]) -> None:
        self.writer.add_image("visuals/" + "|".join(columns), grid, step)
        for k, v in metrics.items():
            self.writer.add_scalar(f"epoch/{k}", v, epoch)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def open_tensorboard(folder: str | os.PathLike[str]) -> TensorBoardSink | None:
    """A TensorBoard sink, or ``None`` (with one log line) when tensorboard isn't installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log.info("tensorboard is not installed: no TensorBoard logs (the HTML report is still written)")
        return None
    return TensorBoardSink(SummaryWriter(log_dir=str(folder)))
