"""The page: a Gradio Blocks app with one tab per mode, each in its own module (:mod:`.tabs`).

Why Gradio rather than FastAPI with a hand-made page: Gradio's queue gives
per-event concurrency limits, queue positions, streaming previews from
generators and cancellation, and every button is also an HTTP API endpoint
(``/gradio_api/queue/join``, ``/gradio_api/call/<name>``) with a Python client —
all things a hand-made page would have to rebuild.  It serves its own fonts and
scripts, so with analytics off the page works offline.

:func:`create_app` only assembles: the shared context (:mod:`.common`), one
``build(ctx)`` per tab, the queue and its per-client guard.
"""

from __future__ import annotations

__all__ = ["create_app", "launch"]

import importlib
from typing import Any

from .auth import login_options
from .common import CSS, JS, gr, make_context
from .limits import WebSettings
from .quota import guard_queue
from .tabs import TABS


def create_app(settings: WebSettings | None = None) -> Any:
    """Build the Gradio Blocks page for ``settings`` (not started; see :func:`launch`)."""
    settings = settings or WebSettings()
    ctx = make_context(settings)
    with gr.Blocks(title="styleforge", delete_cache=(600, 3600), analytics_enabled=False) as demo:
        gr.Markdown(
            "## styleforge · upload a photo, pick a style, get a picture — all on this machine", elem_id="sf-title"
        )
        with gr.Tabs():
            for module, title in TABS:
                with gr.Tab(title, id=module):
                    importlib.import_module(f".tabs.{module}", __package__).build(ctx)
    demo.queue(default_concurrency_limit=settings.fast_concurrency, max_size=settings.limits.max_queue)
    guard_queue(demo, settings)  # per-client limits; no way round the queue
    demo.styleforge_work_dir = ctx.work
    demo.styleforge_context = ctx
    return demo


def launch(demo: Any, settings: WebSettings, *, block: bool = True) -> tuple[Any, str]:
    """Start the server; returns ``(app, local_url)`` (``block=False`` returns at once).

    With ``settings.accounts``, Gradio's login page and cookie (``auth=``) guard the page, and
    :class:`.auth.LoginGuard` wraps the whole app: no other route answers without a login.
    """
    _app, url, _ = demo.launch(
        server_name=settings.host,
        server_port=settings.port,
        max_file_size=settings.limits.max_upload_bytes,
        show_error=True,
        prevent_thread_lock=not block,
        quiet=True,
        share=False,
        inbrowser=False,
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        enable_monitoring=False,
        footer_links=[],
        css=CSS,
        js=JS,
        theme="default",
        **login_options(settings),
    )
    return _app, url
