import pytest

from styleforge.errors import InputError
from styleforge.registry import Registry


def test_registry_build_and_suggest():
    r: Registry[int] = Registry("widget")
    r.register("alpha", lambda x=1: x)

    @r.register("beta")
    def _beta(x: int = 2) -> int:
        return x * 10

    assert r.build("beta", x=3) == 30
    assert r.names() == ["alpha", "beta"] and "alpha" in r
    with pytest.raises(InputError, match="did you mean 'alpha'"):
        r.build("alpah")
    with pytest.raises(KeyError):
        r.register("alpha", lambda: 0)
