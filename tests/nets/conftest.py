import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """Small networks: one thread is faster and immune to oversubscription on a shared CPU."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
