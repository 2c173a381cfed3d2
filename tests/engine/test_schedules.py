import pytest
import torch

from styleforge.engine import make_scheduler
from styleforge.errors import InputError


def _lrs(policy, epochs, **kw):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    s = make_scheduler(opt, policy, **kw)
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        s.step(1.0) if policy == "plateau" else s.step()
    return out


def test_linear_is_the_reference_rule():
    # pix2pix/CycleGAN: lr * (1 - max(0, epoch + 1 - n_epochs) / (n_epochs_decay + 1))
    lrs = _lrs("linear", 6, n_epochs=3, n_epochs_decay=3)
    assert lrs == pytest.approx([1, 1, 1, 0.75, 0.5, 0.25])


def test_step_cosine_plateau():
    assert _lrs("step", 5, n_epochs=0, n_epochs_decay=0, step_epochs=2, gamma=0.5) == pytest.approx(
        [1, 1, 0.5, 0.5, 0.25]
    )
    cos = _lrs("cosine", 5, n_epochs=2, n_epochs_decay=2)
    assert cos[0] == 1 and cos[2] == pytest.approx(0.5) and cos[4] == pytest.approx(0.0, abs=1e-9)
    plateau = _lrs("plateau", 9, n_epochs=1, n_epochs_decay=0, patience=2, factor=0.2)
    assert plateau[0] == 1 and plateau[-1] < 1
    with pytest.raises(InputError, match="did you mean 'linear'"):
        _lrs("linaer", 1, n_epochs=1, n_epochs_decay=1)
