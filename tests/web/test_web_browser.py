"""End to end in headless Chromium (Debian's ``chromium`` driven by Playwright): a person's clicks.

Needs ``/usr/bin/chromium`` (``make test`` installs it) and the ``playwright``
Python package (the dev extra).  Where Chromium is missing the tests skip —
except in CI (``CI`` set), where they fail, so a broken install never passes
silently.  Every request the page makes is recorded: none may leave 127.0.0.1.

Set ``STYLEFORGE_SCREENSHOT_DIR`` to keep the screenshots (``web.png``).
"""

from __future__ import annotations

import io
import os
import shutil
import threading
import time
import urllib.parse
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from styleforge.assets import BUILTIN_CONTENT, builtin_styles
from styleforge.web import modes

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"]
TIMEOUT_MS = 120_000


def _chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        msg = "Debian's chromium is not installed (apt-get install chromium, or `make test`)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="module")
def browser():
    exe = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need playwright: pip install -e '.[dev]' (or run `make test`)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, web_server):
    url, _demo = web_server
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    pg.requests = []  # type: ignore[attr-defined]
    pg.on("request", lambda r: pg.requests.append(r.url))  # type: ignore[attr-defined]
    pg.goto(url)
    pg.wait_for_selector("text=styleforge")
    yield pg
    context.close()
    outside = [u for u in pg.requests if urllib.parse.urlparse(u).hostname not in ("127.0.0.1", None)  # type: ignore[attr-defined]
               and not u.startswith(("data:", "blob:"))]
    assert not outside, f"the page fetched from outside 127.0.0.1: {outside[:5]}"
    assert pg.requests, "no request recorded"  # type: ignore[attr-defined]


def _set_number(pg, elem_id: str, value: int) -> None:
    """Type ``value`` into a slider's number box and wait until the slider itself holds it.

    A fill that lands while the page is still re-rendering (an accordion opening) can be
    dropped; the slider's range input only moves once Gradio has taken the value, so the
    fill is repeated until it does (a real failure still times out)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box, slider = pg.locator(f"#{elem_id} input[type=number]"), pg.locator(f"#{elem_id} input[type=range]")
    check = (f"() => {{ const r = document.querySelector('#{elem_id} input[type=range]');"
             f" return !!r && r.value === '{value}'; }}")
    for _ in range(3):
        box.fill(str(value))
        box.press("Enter")
        try:
            pg.wait_for_function(check, timeout=5_000)
            return
        except PlaywrightTimeout:  # the fill was dropped: type again
            continue
    assert slider.input_value() == str(value), f"#{elem_id}'s slider kept {slider.input_value()!r}, not {value}"


def _wait_done(pg, prefix: str) -> None:
    pg.wait_for_function(
        f"() => {{ const e = document.querySelector('#{prefix}-info'); return e && e.innerText.includes('Done'); }}",
        timeout=TIMEOUT_MS)


def _result(pg, prefix: str) -> Image.Image:
    src = pg.locator(f"#{prefix}-result img").first.get_attribute("src")
    assert src and src.startswith("http://127.0.0.1"), src
    body = pg.request.get(src).body()
    img = Image.open(io.BytesIO(body))
    img.load()
    return img


def _save_screenshot(pg, tmp_path: Path, name: str) -> Path:
    shot = tmp_path / name
    pg.screenshot(path=str(shot), full_page=False)
    keep = os.environ.get("STYLEFORGE_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / name)
    return shot


def test_instant_and_artistic_in_the_browser(page, tmp_path, web_settings):
    photo = BUILTIN_CONTENT["tubingen"]
    w, h = Image.open(photo).size
    assert modes.availability(web_settings.instant_models)["instant"] is None
    page.get_by_role("tab", name="Instant").click()
    page.locator("#instant-content input[type=file]").set_input_files(str(photo))
    page.locator("#instant-gallery button", has_text="tiny_scream").click()  # pick a style by its thumbnail
    page.wait_for_function("() => document.querySelector('#instant-style input:checked')?.value === 'tiny_scream'")
    page.locator("#instant-run").click()
    _wait_done(page, "instant")
    out = _result(page, "instant")
    k = min(1.0, 512 / max(w, h))  # the test server's size limit
    assert out.format == "PNG" and out.size == (round(w * k), round(h * k))
    cmd = page.locator("#instant-cmd textarea").input_value()
    assert cmd == "styleforge instant tubingen.jpg --style INSTANT_MODELS/tiny.safetensors --size 512 -o result.png"
    # upload your own style: AdaIN with the installed decoder
    own = builtin_styles()["the_scream"]
    page.locator("#instant-own input[type=file]").set_input_files(str(own))
    page.locator("#instant-run").click()
    page.wait_for_function("() => document.querySelector('#instant-cmd textarea')?.value.includes('the_scream.jpg')")
    cmd = page.locator("#instant-cmd textarea").input_value()
    assert cmd.startswith("styleforge instant tubingen.jpg --style the_scream.jpg"), cmd
    assert _result(page, "instant").size == out.size

    page.get_by_role("tab", name="Artistic").click()
    page.locator("#artistic-content input[type=file]").set_input_files(str(photo))
    page.locator("#artistic-gallery button").nth(list(builtin_styles()).index("the_scream")).click()  # → style 1
    page.wait_for_function("() => document.querySelector('#artistic-style1 input').value === 'the_scream'")
    _set_number(page, "artistic-size", 128)
    page.get_by_text("Advanced").click()
    _set_number(page, "artistic-steps", 4)
    page.locator("#artistic-run").click()
    _wait_done(page, "artistic")
    out = _result(page, "artistic")
    assert out.format == "PNG" and out.size == (128, round(128 * h / w))
    assert len(np.unique(np.asarray(out.convert("RGB")).reshape(-1, 3), axis=0)) > 100  # a real picture
    cmd = page.locator("#artistic-cmd textarea").input_value()
    assert cmd.startswith("styleforge stylize tubingen.jpg --style the_scream --image-size 128 --iterations 4")
    assert page.locator("#artistic-result button[aria-label='Download'], #artistic-result a[download]").count() >= 1
    _save_screenshot(page, tmp_path, "web.png")


def test_cancel_stops_the_job(page):
    page.get_by_role("tab", name="Artistic").click()
    page.locator("#artistic-content input[type=file]").set_input_files(str(BUILTIN_CONTENT["tubingen"]))
    _set_number(page, "artistic-size", 256)
    page.locator("#artistic-preset label").nth(1).click()  # balanced: VGG16, 3 scales
    page.get_by_text("Advanced").click()
    _set_number(page, "artistic-steps", 500)  # minutes of work
    page.locator("#artistic-run").click()
    page.wait_for_function(
        "() => { const e = document.querySelector('#artistic-info'); return e && e.innerText.includes('Running'); }")
    assert any(t.name == "styleforge-job" for t in threading.enumerate())
    page.locator("#artistic-cancel").click()
    t0 = time.monotonic()
    while any(t.name == "styleforge-job" for t in threading.enumerate()):
        assert time.monotonic() - t0 < 10, "the optimisation kept running after Cancel"
        time.sleep(0.2)
    assert "Done" not in page.locator("#artistic-info").inner_text()


def test_text_file_renamed_jpg_shows_a_friendly_error(page, tmp_path):
    fake = tmp_path / "holiday.jpg"
    fake.write_text("Dear diary, this is not a picture.\n" * 20)
    page.get_by_role("tab", name="Artistic").click()
    page.locator("#artistic-content input[type=file]").set_input_files(str(fake))
    page.locator("#artistic-run").click()
    toast = page.get_by_text("'holiday.jpg' is not an image")
    toast.first.wait_for(timeout=30_000)
    assert "Traceback" not in page.content()


def test_login_then_a_job_and_the_per_client_cap_in_the_browser(browser, auth_server, tmp_path):
    from conftest import USERS

    url, _demo = auth_server
    photo = tmp_path / "street.png"
    Image.fromarray((np.indices((96, 128)).sum(0) % 256).astype(np.uint8)).convert("RGB").save(photo)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    try:
        pg.goto(url)
        pg.get_by_text("log in with the user name and password").wait_for()
        assert pg.locator("#instant-run").count() == 0  # no page before the login
        pg.locator("input[type=text]").fill("carol")
        pg.locator("input[type=password]").fill("not-her-password")
        pg.get_by_role("button", name="Login").click()
        pg.get_by_text("Incorrect Credentials").wait_for()
        pg.locator("input[type=text]").fill("carol")
        pg.locator("input[type=password]").fill(USERS["carol"])
        pg.get_by_role("button", name="Login").click()
        pg.locator("#instant-run").wait_for()
        page_url = pg.url
        # a job runs as usual
        pg.locator("#instant-content input[type=file]").set_input_files(str(photo))
        pg.locator("#instant-gallery button", has_text="tiny_scream").click()
        pg.locator("#instant-run").click()
        _wait_done(pg, "instant")
        assert _result(pg, "instant").size == (128, 96)
        # one job at a time per client on this server: a second one gets a friendly message
        pg.get_by_role("tab", name="Artistic").click()
        pg.locator("#artistic-content input[type=file]").set_input_files(str(photo))
        pg.get_by_text("Advanced").click()
        _set_number(pg, "artistic-steps", 500)
        pg.locator("#artistic-run").click()
        pg.wait_for_function(
            "() => { const e = document.querySelector('#artistic-info'); return e && e.innerText.includes('Running'); }")
        pg.get_by_role("tab", name="Instant").click()
        pg.locator("#instant-run").click()
        pg.get_by_text("you already have 1 job waiting or running").first.wait_for(timeout=30_000)
        pg.get_by_role("tab", name="Artistic").click()
        pg.locator("#artistic-cancel").click()
        t0 = time.monotonic()
        while any(t.name == "styleforge-job" for t in threading.enumerate()):
            assert time.monotonic() - t0 < 10, "the optimisation kept running after Cancel"
            time.sleep(0.2)
        _save_screenshot(pg, tmp_path, "web_login_cap.png")
        assert page_url.startswith(url)
    finally:
        context.close()


def test_makeup_by_example_in_the_browser(page, face_models, tmp_path):
    """The Makeup tab with no model: a face, a reference face, regions, Transfer."""
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "faces"
    page.get_by_role("tab", name="Makeup").click()
    page.locator("#makeup-content input[type=file]").set_input_files(str(fixtures / "two_faces.jpg"))
    page.locator("#makeup-reference input[type=file]").set_input_files(str(fixtures / "astronaut.jpg"))
    page.locator("#makeup-regions label", has_text="skin").click()  # untick skin
    page.locator("#makeup-transfer").click()
    _wait_done(page, "makeup")
    out = _result(page, "makeup")
    assert out.size == Image.open(fixtures / "two_faces.jpg").size
    cmd = page.locator("#makeup-cmd textarea").input_value()
    assert cmd == "styleforge makeup transfer two_faces.jpg --reference astronaut.jpg --regions lips,eyes,brows -o result.png"
    assert "2 faces" in page.locator("#makeup-info").inner_text()
