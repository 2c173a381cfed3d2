"""Screenshot of the page with a result, for the README: ``python tests/web/make_screenshot.py``.

Starts the page on a free port, drives headless Chromium like a person (upload
``tubingen.jpg``, pick a style, paint) and writes ``docs/images/web.png``.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[2]
from chromium_args import CHROMIUM_ARGS as ARGS  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-o", "--output", default=str(REPO / "docs" / "images" / "web.png"))
    ap.add_argument("--tab", choices=("instant", "artistic"), default="artistic")
    ap.add_argument("--style", type=int, default=3, help="index of the gallery thumbnail to click")
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--preset", default="fast")
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
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1000}, device_scale_factor=1)
            page.set_default_timeout(1_800_000)
            page.goto(url)
            tab = args.tab
            page.get_by_role("tab", name=tab.capitalize()).click()
            page.locator(f"#{tab}-content input[type=file]").set_input_files(str(photo))
            page.locator(f"#{tab}-gallery button").nth(args.style).click()
            if tab == "artistic":
                box = page.locator("#artistic-size input[type=number]")
                box.fill(str(args.size))
                box.press("Enter")
                page.locator("#artistic-preset label", has_text=args.preset).click()
            t0 = time.monotonic()
            page.locator(f"#{tab}-run").click()
            page.wait_for_function(
                f"() => {{ const e = document.querySelector('#{tab}-info'); "
                "return e && e.innerText.includes('Done'); }"
            )
            print(f"result after {time.monotonic() - t0:.1f} s")
            page.evaluate("window.scrollTo(0, 0)")
            time.sleep(1.0)
            Path(args.output).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.output)
            browser.close()
    finally:
        demo.close()
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
