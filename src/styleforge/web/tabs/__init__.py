"""The page's tabs, one module each: ``build(ctx)`` lays a tab out inside ``gr.Tab`` and wires it;
``handlers(ctx)`` returns its event functions (what the tests call without a browser)."""

from __future__ import annotations

__all__ = ["TABS"]

#: (module name, tab title), in page order.
TABS = (
    ("instant", "Instant"),
    ("artistic", "Artistic"),
    ("photo", "Photo"),
    ("translate", "Translate"),
    ("makeup", "Makeup"),
    ("video", "Video"),
)
