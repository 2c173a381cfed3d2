"""History of generated images for the discriminator (Shrivastava et al. 2017; CycleGAN §4).

The discriminator is updated on a mix of the newest fakes and fakes from earlier
steps, which damps oscillation.  The rule is the reference's: while fewer than
``size`` images are stored, every new image is stored and returned as is; after
that each new image is, with probability ½, swapped with a random stored one
(the stored one is returned) or returned itself.  The draws come from the pool's
own ``torch.Generator``, whose state is part of :meth:`ImagePool.state_dict`
(exact resume).

Examples:
    >>> pool = ImagePool(2, generator=torch.Generator().manual_seed(0))
    >>> out = pool.query(torch.zeros(3, 1, 2, 2))
    >>> len(pool), out.shape
    (2, torch.Size([3, 1, 2, 2]))
    >>> ImagePool(0).query(torch.ones(1, 1, 1, 1)).item()  # size 0: no history
    1.0
"""

from __future__ import annotations

__all__ = ["ImagePool"]

from typing import Any

import torch

from ..errors import InputError


class ImagePool:
    """A buffer of up to ``size`` previous images (detached, on the device of the images)."""

    def __init__(self, size: int = 50, *, generator: torch.Generator | None = None) -> None:
        if size < 0:
            raise InputError(f"the image pool size must be >= 0, got {size}")
        self.size = size
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self.images: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Return a batch of the same shape: each image is the new one or a stored one (see module doc)."""
        images = images.detach()
        if self.size == 0:
            return images
        out = []
        for img in images:
            img = img.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(img.clone())
                out.append(img)
            elif float(torch.rand((), generator=self.generator)) > 0.5:
                i = int(torch.randint(0, self.size, (), generator=self.generator))
                old = self.images[i]
                self.images[i] = img.clone()
                out.append(old.to(img.device))
            else:
                out.append(img)
        return torch.cat(out, 0)

    def state_dict(self) -> dict[str, Any]:
        """Stored images (on the CPU) and the generator state: a plain, ``weights_only``-loadable dict."""
        return {
            "size": self.size,
            "images": [t.cpu() for t in self.images],
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any], *, device: torch.device | str | None = None) -> None:
        if int(state["size"]) != self.size:
            raise InputError(f"the image pool holds {state['size']} images at most, not {self.size}")
        self.images = [t.to(device) if device is not None else t.clone() for t in state["images"]]
        self.generator.set_state(state["generator"])
