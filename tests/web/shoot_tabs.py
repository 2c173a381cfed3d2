"""Screenshots of every tab at a desktop and a phone viewport: ``python tests/web/shoot_tabs.py OUTDIR``.

Starts the page on a free port (built-in models only), opens each tab in headless Chromium at
1280×800 and 390×844 and writes ``<tab>_<width>x<height>.jpg`` (JPEG, quality 70) into OUTDIR.
With ``--photo`` a photo is uploaded into each tab's first image box first.  With ``--action`` it also
paints ``tubingen.jpg`` on the Artistic tab (the_scream, 320 px) and writes ``artistic_running_*`` (live
picture and progress line), ``artistic_cancelled_*`` and ``artistic_done_*``.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[2]
from chromium_args import CHROMIUM_ARGS as ARGS  # noqa: E402

TABS = ("Instant", "Artistic", "Photo", "Translate", "Makeup", "Video")
VIEWPORTS = ((1280, 800), (390, 844))


def open_tab(page: object, tab: str) -> None:
    """Click a tab, through the "More tabs" menu where a narrow viewport hides it there."""
    page.locator("[role=tablist] button").first.wait_for(state="visible")  # type: ignore[attr-defined]
    target = page.locator(f"[role=tablist] button[data-tab-id={tab.lower()}]")  # type: ignore[attr-defined]
    if target.count():
        try:
            target.first.wait_for(state="visible", timeout=3_000)
            target.first.click()
            return
        except Exception:  # noqa: BLE001 - hidden behind the "More tabs" menu
            pass
    page.locator("button[aria-label='More tabs']").first.click()  # type: ignore[attr-defined]
    page.locator(".overflow-dropdown button", has_text=tab).first.click()  # type: ignore[attr-defined]


def shoot(page: Any, out: Path) -> None:
    from PIL import Image

    png = page.screenshot(full_page=False)
    Image.open(io.BytesIO(png)).convert("RGB").save(out, quality=70)
    print(f"wrote {out}")


def paint(page: Any, photo: Path, outdir: Path, size: str) -> None:
    """The Artistic tab at work: running (live picture), cancelled, then a finished picture."""
    open_tab(page, "Artistic")
    page.locator("#artistic-content input[type=file]").set_input_files(str(photo))
    page.locator("#artistic-gallery button.thumbnail-item", has_text="the_").first.click()
    box = page.locator("#artistic-size input[type=number]")
    box.fill("320")
    box.press("Enter")
    running = (
        "() => { const e = document.querySelector('#artistic-info'); return e && /step [1-9].*left/"
        ".test(e.innerText) && document.querySelector('#artistic-result img'); }"
    )
    for state in ("cancelled", "done"):
        page.locator("#artistic-run").click()
        page.wait_for_function(running, timeout=120_000)
        time.sleep(1.5)
        if state == "cancelled":
            page.locator("#artistic-info").scroll_into_view_if_needed()
            shoot(page, outdir / f"artistic_running_{size}.jpg")
            page.locator("#artistic-cancel").click()
            page.wait_for_function("() => document.querySelector('#artistic-info').innerText.includes('Cancelled')")
        else:
            page.wait_for_function(
                "() => document.querySelector('#artistic-info').innerText.includes('Done')", timeout=600_000
            )
        time.sleep(1.0)
        page.locator("#artistic-info").scroll_into_view_if_needed()
        shoot(page, outdir / f"artistic_{state}_{size}.jpg")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--photo", action="store_true", help="upload tubingen.jpg into each tab first")
    ap.add_argument("--action", action="store_true", help="also the Artistic tab running, cancelled and done")
    args = ap.parse_args()

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
                    shoot(page, args.outdir / f"{tab.lower()}_{w}x{h}.jpg")
                if args.action:
                    paint(page, photo, args.outdir, f"{w}x{h}")
                page.close()
            browser.close()
    finally:
        demo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
