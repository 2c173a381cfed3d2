"""End to end in headless Chromium (Debian's ``chromium`` driven by Playwright): a person's clicks.

Needs ``/usr/bin/chromium`` (``make test`` installs it) and the ``playwright``
Python package (the dev extra).  Where Chromium is missing the tests skip —
except in CI (``CI`` set), where they fail, so a broken install never passes
silently.  Every request the page makes is recorded: none may leave 127.0.0.1.

Every test runs twice: against the page in this process, and against the same page as ``styleforge
serve --broker redis://…`` runs it — its jobs on two ``styleforge worker`` processes in another
working directory, with Redis on a free loopback port (tests/service/sfcluster.py; skipped without
``redis-server``, failed in CI).  The assertions are the same (results, progress and the live picture,
Cancel, errors, downloads, the per-client cap); at the end the broker's page must have had its jobs
done by the workers.

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

from chromium_args import CHROMIUM_ARGS  # noqa: E402

TIMEOUT_MS = 120_000
#: Where the page's jobs run: in the server's process, or on the workers of a job queue.
SERVERS = ("in-process", "broker")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each test against both servers (one page server per kind for the module)."""
    for name in ("served", "auth_served"):
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, SERVERS, indirect=True, scope="module")


@pytest.fixture(autouse=True)
def _jobs_routed(request):
    """Under the broker, the page's job functions go to the queue while the test runs."""
    for name in ("served", "auth_served"):
        if name in request.fixturenames:
            with request.getfixturevalue(name).jobs_routed():
                yield
            return
    yield


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
def page(browser, served):
    url, _demo = served
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    pg.requests = []  # type: ignore[attr-defined]
    pg.on("request", lambda r: pg.requests.append(r.url))  # type: ignore[attr-defined]
    pg.goto(url)
    pg.wait_for_selector("text=styleforge")
    yield pg
    context.close()
    outside = [
        u
        for u in pg.requests
        if urllib.parse.urlparse(u).hostname not in ("127.0.0.1", None)  # type: ignore[attr-defined]
        and not u.startswith(("data:", "blob:"))
    ]
    assert not outside, f"the page fetched from outside 127.0.0.1: {outside[:5]}"
    assert pg.requests, "no request recorded"  # type: ignore[attr-defined]


def _set_number(pg, elem_id: str, value: int) -> None:
    """Type ``value`` into a slider's number box and wait until the slider itself holds it.

    A fill that lands while the page is still re-rendering (an accordion opening) can be
    dropped; the slider's range input only moves once Gradio has taken the value, so the
    fill is repeated until it does (a real failure still times out)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box, slider = pg.locator(f"#{elem_id} input[type=number]"), pg.locator(f"#{elem_id} input[type=range]")
    check = (
        f"() => {{ const r = document.querySelector('#{elem_id} input[type=range]');"
        f" return !!r && r.value === '{value}'; }}"
    )
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
        timeout=TIMEOUT_MS,
    )


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
    page.wait_for_function("() => document.querySelector('#instant-style input')?.value === 'tiny_scream'")
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
    page.wait_for_function("() => document.querySelector('#instant-style input')?.value === 'my style (upload)'")
    selected = page.locator("#instant-gallery button.thumbnail-item.selected")
    assert selected.count() == 1 and "my style" in selected.inner_text()
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
    src = page.locator("#artistic-result img").first.get_attribute("src")
    assert src.endswith("/tubingen_the_scream.png"), src  # the download is named after photo and style
    assert out.text["styleforge:command"] == cmd
    assert page.locator("#artistic-result button[aria-label='Download'], #artistic-result a[download]").count() >= 1
    _save_screenshot(page, tmp_path, "web.png")


def test_cancel_stops_the_job(sized_page):
    """At both viewports: a live picture and progress line while it paints, then a lasting "Cancelled"."""
    page, _ = sized_page
    _open_tab(page, "artistic")
    page.locator("#artistic-content input[type=file]").set_input_files(str(BUILTIN_CONTENT["tubingen"]))
    _set_number(page, "artistic-size", 256)
    page.locator("#artistic-preset label").nth(1).click()  # balanced: VGG16, 3 scales
    page.get_by_text("Advanced").click()
    _set_number(page, "artistic-steps", 500)  # minutes of work
    page.locator("#artistic-run").click()
    page.wait_for_function(  # a progress line with stage, percentage and time left, and the live picture
        "() => { const e = document.querySelector('#artistic-info'); return e && /step \\d+.*%.*left.*elapsed/"
        ".test(e.innerText) && document.querySelector('#artistic-result img'); }"
    )
    assert any(t.name == "styleforge-job" for t in threading.enumerate())
    page.locator("#artistic-cancel").click()
    page.wait_for_function(
        "() => document.querySelector('#artistic-info').innerText.includes('Cancelled')", timeout=20_000
    )
    t0 = time.monotonic()
    while any(t.name == "styleforge-job" for t in threading.enumerate()):
        assert time.monotonic() - t0 < 10, "the optimisation kept running after Cancel"
        time.sleep(0.2)
    time.sleep(2.5)  # it stays cancelled, with no half-done picture to download
    assert "Cancelled" in page.locator("#artistic-info").inner_text()
    assert page.locator("#artistic-result img").count() == 0


VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}
#: Each tab's main button (what a first visit should find without scrolling).
MAIN = {
    "instant": "instant-run",
    "artistic": "artistic-run",
    "photo": "photo-run",
    "translate": "translate-run",
    "makeup": "makeup-transfer",
    "video": "video-run",
}
UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button')].filter(el => el.offsetParent
  && el.type !== 'hidden' && el.type !== 'file' && !((el.labels && [...el.labels].some(l => l.innerText.trim()))
  || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
  || (el.tagName === 'BUTTON' && el.innerText.trim())
  || el.title)).map(el => el.outerHTML.slice(0, 120))"""


def _open_tab(pg, tab: str) -> None:
    """Click a tab, through the "More tabs" menu where a phone hides it there."""
    pg.locator("[role=tablist] button").first.wait_for(state="visible")
    target = pg.locator(f"[role=tablist] button[data-tab-id={tab}]")
    if target.count() and target.first.is_visible():
        target.first.click()
    else:
        pg.locator("button[aria-label='More tabs']").first.click()
        pg.locator(".overflow-dropdown button", has_text=tab.capitalize()).first.click()
    pg.locator(f"#{MAIN[tab]}").wait_for(state="visible")


@pytest.fixture(params=list(VIEWPORTS))
def sized_page(request, browser, served):
    w, h = VIEWPORTS[request.param]
    context = browser.new_context(viewport={"width": w, "height": h})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    seen: list[str] = []
    pg.on("request", lambda r: seen.append(r.url))
    pg.goto(served.url)
    pg.wait_for_selector("text=styleforge")
    yield pg, (w, h)
    context.close()
    outside = [
        u
        for u in seen
        if urllib.parse.urlparse(u).hostname not in ("127.0.0.1", None) and not u.startswith(("data:", "blob:"))
    ]
    assert seen and not outside, f"the page fetched from outside 127.0.0.1: {outside[:5]}"


def test_main_action_in_view_labelled_and_reachable_by_keyboard(sized_page, tmp_path):
    pg, (w, h) = sized_page
    n_styles = len(builtin_styles())
    for tab in MAIN:
        _open_tab(pg, tab)
        pg.evaluate("window.scrollTo(0, 0)")
        box = pg.locator(f"#{MAIN[tab]}").bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= h, (tab, box, "the main button is below the fold")
        assert pg.evaluate(UNLABELLED) == [], tab
        for gallery in pg.locator(".sf-gallery").all():
            if not gallery.is_visible():
                continue
            thumbs = gallery.locator("button.thumbnail-item").all()
            assert len(thumbs) >= n_styles if tab == "artistic" else len(thumbs) > 0
            assert gallery.locator("button.thumbnail-item.selected").count() == 1  # the chosen style shows
            for t in thumbs:  # all of them on screen width: wrapped, never in a sideways scroll
                b = t.bounding_box()
                assert b and b["x"] >= 0 and b["x"] + b["width"] <= w + 1, (tab, b)
                assert (t.get_attribute("aria-label") or "").startswith("Style "), "a thumbnail without a name"
        pg.locator(f"[role=tablist] button[data-tab-id={tab}], .overflow-menu button").first.focus()
        for _ in range(80):  # the main action is reached with the Tab key
            pg.keyboard.press("Tab")
            if pg.evaluate("() => document.activeElement?.id") == MAIN[tab]:
                break
        else:
            raise AssertionError(f"{tab}: Tab never reached #{MAIN[tab]}")
        _save_screenshot(pg, tmp_path, f"{tab}_{w}x{h}.png")


BAD_UPLOAD = {tab: (f"#{tab}-content", "holiday.jpg", "is not an image") for tab in MAIN}
BAD_UPLOAD["video"] = ("#video-clip", "film.mp4", "is not a video we can read")


@pytest.mark.parametrize("tab", list(MAIN))
def test_a_bad_upload_is_explained_in_the_tab(page, tab, tmp_path):
    box, name, words = BAD_UPLOAD[tab]
    fake = tmp_path / name
    fake.write_text("Dear diary, this is not a picture.\n" * 20)
    _open_tab(page, tab)
    page.locator(f"{box} input[type=file]").set_input_files(str(fake))
    status = page.locator(f"#{tab}-upload-status")
    page.wait_for_function(
        f"() => document.querySelector('#{tab}-upload-status')?.innerText.includes({words!r})", timeout=30_000
    )
    text = status.inner_text()
    assert name in text and "Traceback" not in text and "/tmp" not in text and "Error" not in text, text
    if tab == "artistic":  # a 1×1 photo is refused at once, and again on Paint, in the tab's words
        dot = tmp_path / "dot.png"
        Image.new("RGB", (1, 1), (9, 9, 9)).save(dot)
        page.locator("#artistic-content input[type=file]").set_input_files(str(dot))
        page.wait_for_function(
            "() => document.querySelector('#artistic-upload-status')?.innerText.includes('only 1×1 pixels')",
            timeout=30_000,
        )


def test_login_then_a_job_and_the_per_client_cap_in_the_browser(browser, auth_served, tmp_path):
    from conftest import USERS

    url, _demo = auth_served
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
            "() => { const e = document.querySelector('#artistic-info'); return e && e.innerText.includes('Running'); }"
        )
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
    assert (
        cmd
        == "styleforge makeup transfer two_faces.jpg --reference astronaut.jpg --regions lips,eyes,brows -o result.png"
    )
    assert "2 faces" in page.locator("#makeup-info").inner_text()
