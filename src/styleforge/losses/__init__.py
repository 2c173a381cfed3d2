"""Loss functions (pure) and their thin module wrappers."""

from .functional import (
    chain_gram,
    content_loss,
    gram_matrix,
    gram_style_loss,
    masked_gram_matrix,
    mrf_loss,
    style_loss,
    tv_loss,
)
from .modules import ContentLoss, GramMatrix, StyleLoss, TotalVariation

__all__ = [
    "ContentLoss",
    "GramMatrix",
    "StyleLoss",
    "TotalVariation",
    "chain_gram",
    "content_loss",
    "gram_matrix",
    "gram_style_loss",
    "masked_gram_matrix",
    "mrf_loss",
    "style_loss",
    "tv_loss",
]
