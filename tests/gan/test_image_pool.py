import pytest
import torch

from styleforge.errors import InputError
from styleforge.gan.image_pool import ImagePool


def _img(v: float) -> torch.Tensor:
    return torch.full((1, 3, 2, 2), float(v))


def test_fills_first_and_returns_the_new_images_unchanged():
    pool = ImagePool(5, generator=torch.Generator().manual_seed(0))
    for i in range(5):
        out = pool.query(_img(i))
        assert torch.equal(out, _img(i))
        assert len(pool) == i + 1
    assert [float(t[0, 0, 0, 0]) for t in pool.images] == [0, 1, 2, 3, 4]


def test_full_pool_returns_an_old_image_with_probability_one_half():
    pool = ImagePool(10, generator=torch.Generator().manual_seed(1))
    for i in range(10):
        pool.query(_img(i))
    n, old = 2000, 0
    for i in range(10, 10 + n):
        stored = {float(t[0, 0, 0, 0]) for t in pool.images}
        v = float(pool.query(_img(i))[0, 0, 0, 0])
        if v != i:
            old += 1
            assert v in stored  # an image that was in the pool
            assert i in {float(t[0, 0, 0, 0]) for t in pool.images}  # the new one took its place
        assert len(pool) == 10
    assert 0.45 < old / n < 0.55  # 5 sigma ≈ 0.056


def test_seeded_and_batched_and_resumable():
    def run(seed, pool=None, start=0, stop=40):
        pool = pool or ImagePool(3, generator=torch.Generator().manual_seed(seed))
        outs = [pool.query(torch.cat([_img(2 * i), _img(2 * i + 1)])) for i in range(start, stop)]
        return pool, torch.cat(outs)

    _, a = run(7)
    _, b = run(7)
    _, c = run(8)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == (80, 3, 2, 2)
    half, first = run(7, stop=20)
    state = half.state_dict()
    resumed = ImagePool(3, generator=torch.Generator().manual_seed(123))
    resumed.load_state_dict(state)
    _, rest = run(0, pool=resumed, start=20, stop=40)
    assert torch.equal(torch.cat([first, rest]), a)


def test_size_zero_is_no_history_and_negative_is_refused():
    pool = ImagePool(0)
    x = torch.randn(2, 3, 4, 4)
    assert torch.equal(pool.query(x), x) and len(pool) == 0
    with pytest.raises(InputError):
        ImagePool(-1)
    with pytest.raises(InputError):
        ImagePool(2).load_state_dict(ImagePool(3).state_dict())


def test_returned_images_are_detached():
    x = torch.randn(1, 3, 2, 2, requires_grad=True)
    assert not ImagePool(2).query(x * 2).requires_grad
