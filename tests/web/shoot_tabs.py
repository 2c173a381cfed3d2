"""Screenshots of every tab at a desktop and a phone viewport: ``python tests/web/shoot_tabs.py OUTDIR``.

Starts the page on a free port (built-in models only), opens each tab in headless Chromium at
1280×800 and 390×844 and writes ``<tab>_<width>x<height>.jpg`` (JPEG, quality 70) into OUTDIR.
With ``--photo`` a photo is uploaded into each tab's first image box first.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import sys
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[2]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"]
TABS = ("Instant", "Artistic", "Photo", "Translate", "Makeup", "Video")
VIEWPORTS = ((1280, 800), (390, 844))


def open_tab(page: object, tab: str) -> None:
    """Click a tab, through the "More tabs" menu where a narrow viewport hides it there."""
    target = page.locator(f"[role=tablist] button[data-tab-id={tab.lower()}]")  # type: ignore[attr-defined]
    if target.count() and target.first.is_visible():
        target.first.click()
        return
    page.locator("button[aria-label='More tabs']").first.click()  # type: ignore[attr-defined]
    page.locator(".overflow-dropdown button", has_text=tab).first.click()  # type: ignore[attr-defined]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--photo", action="store_true", help="upload tubingen.jpg into each tab first")
    args = ap.parse_args()

    from PIL import Image
    from playwright.sync_api import sync_playwright

    from styleforge.web import WebSettings, create_app, launch

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = WebSettings(port=port)
    demo = create_app(settings)
    url = launch(demo, settings, block=False)[1]
    photo = REPO / "src" / "styleforge" / "assets" / "content" / "tubingen.jpg"
    args.outdir.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for w, h in VIEWPORTS:
                page = browser.new_page(viewport={"width": w, "height": h}, device_scale_factor=1)
                page.goto(url)
                page.wait_for_selector("text=styleforge")
                for tab in TABS:
                    open_tab(page, tab)
                    time.sleep(0.8)
                    if args.photo:
                        box = page.locator(f"#{tab.lower()}-content input[type=file]")
                        if box.count():
                            box.first.set_input_files(str(photo))
                            time.sleep(1.5)
                    page.evaluate("window.scrollTo(0, 0)")
                    time.sleep(0.3)
                    png = page.screenshot(full_page=False)
                    out = args.outdir / f"{tab.lower()}_{w}x{h}.jpg"
                    Image.open(io.BytesIO(png)).convert("RGB").save(out, quality=70)
                    print(f"wrote {out}")
                page.close()
            browser.close()
    finally:
        demo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
