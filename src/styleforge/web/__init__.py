"""The web page (``styleforge serve``): a Gradio app over the styleforge modes.

Install with ``pip install styleforge[web]``.  :func:`create_app` builds the
page; :mod:`.modes` holds the framework-free adapters, :mod:`.limits` the
upload and path guards, :mod:`.auth` the logins and :mod:`.quota` the job
classes (heavy / fast) and per-client limits.  Importing this package does not import Gradio.
"""

from __future__ import annotations

__all__ = ["Limits", "WebSettings", "create_app", "launch"]

from typing import Any

from .limits import Limits, WebSettings


def create_app(settings: WebSettings | None = None) -> Any:
    """Build the Gradio Blocks page (see :func:`styleforge.web.app.create_app`)."""
    from .app import create_app as _create

    return _create(settings)


def launch(demo: Any, settings: WebSettings, *, block: bool = True) -> tuple[Any, str]:
    """Start the server for ``demo`` (see :func:`styleforge.web.app.launch`)."""
    from .app import launch as _launch

    return _launch(demo, settings, block=block)
