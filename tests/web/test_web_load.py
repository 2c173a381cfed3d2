"""Load test through the HTTP API on 127.0.0.1: 20 fast requests and 3 Artistic jobs at once.

Every request must come back with *its own* result (each input has its own
size and colours, and the result is compared with the same adapter called
directly), the queue must report positions, and it all must finish in bounded
time.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from test_web_http import _photo, artistic_data

from styleforge.web import modes

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")

N_FAST, N_ARTISTIC = 20, 3


def test_concurrent_requests_each_get_their_own_result(api, web_settings):
    fast_mode = "instant"
    fast_inputs = [_photo(48 + 4 * i, 36 + 3 * i, seed=i) for i in range(N_FAST)]  # at least 32 px a side
    styles = ["tiny_scream", "starry_night"]  # a per-style network and AdaIN, alternating
    fast_data = [
        [api.upload_image(im, f"p{i}.png"), styles[i % 2], None, 1.0, False] for i, im in enumerate(fast_inputs)
    ]
    expected_fast = [
        modes.instant(
            im, style=styles[i % 2], size=web_settings.limits.max_side, models=web_settings.instant_models
        ).image
        for i, im in enumerate(fast_inputs)
    ]

    art_inputs = [_photo(64, 48, seed=100), _photo(48, 64, seed=101), _photo(64, 64, seed=102)]
    art_styles = ["starry_night", "the_scream", "shipwreck"]
    art_data = [
        artistic_data(api.upload_image(im, f"a{i}.png"), s1=s, steps=3)
        for i, (im, s) in enumerate(zip(art_inputs, art_styles, strict=True))
    ]
    expected_art = [
        modes.artistic(im, [(s, 1.0)], size=64, preset="fast", iterations=3).image
        for im, s in zip(art_inputs, art_styles, strict=True)
    ]

    jobs = [(fast_mode, d) for d in fast_data] + [("artistic", d) for d in art_data]
    t0 = time.monotonic()
    with ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(lambda job: api.call(*job, timeout=240), jobs))
    wall = time.monotonic() - t0
    fast_res, art_res = results[:N_FAST], results[N_FAST:]

    # none lost, none failed, none mixed up
    assert len(results) == N_FAST + N_ARTISTIC
    for i, r in enumerate(results):
        assert r.success, (i, r.error)
    for i, (r, want) in enumerate(zip(fast_res, expected_fast, strict=True)):
        got = np.asarray(api.image(r.output[0]).convert("RGB"), np.int16)
        assert got.shape == np.asarray(want).shape, i
        assert np.abs(got - np.asarray(want, np.int16)).max() <= 2, f"{fast_mode} request {i} got another result"
    for i, (r, want) in enumerate(zip(art_res, expected_art, strict=True)):
        got = np.asarray(api.image(r.output[0]).convert("RGB"), np.float32)
        assert got.shape == np.asarray(want).shape, i
        assert np.abs(got - np.asarray(want, np.float32)).mean() < 2.0, f"artistic job {i} got another result"
        assert f"--style {art_styles[i]} " in r.output[2]

    # the queue reported positions: with 2 fast slots and 1 optimisation slot, most requests waited
    fast_ranks = [max(r.ranks, default=-1) for r in fast_res]
    art_ranks = [max(r.ranks, default=-1) for r in art_res]
    assert all(r.of("estimation") for r in results), "a request got no queue estimate"
    assert sum(k >= 1 for k in fast_ranks) >= N_FAST // 2, fast_ranks
    assert max(art_ranks) >= 1, art_ranks
    assert max(fast_ranks + art_ranks) < N_FAST + N_ARTISTIC

    print(
        f"\n{N_FAST} {fast_mode} + {N_ARTISTIC} artistic requests: {wall:.1f} s wall; "
        f"slowest {fast_mode} {max(r.seconds for r in fast_res):.1f} s, "
        f"slowest artistic {max(r.seconds for r in art_res):.1f} s; max queue position {max(fast_ranks + art_ranks)}"
    )
    assert wall < 150, f"load test took {wall:.0f} s"
