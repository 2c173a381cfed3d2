"""An explicit name → factory registry with loud, helpful failures."""

from __future__ import annotations

__all__ = ["Registry"]

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from .errors import InputError, suggest

T = TypeVar("T")


class Registry(Generic[T]):
    """A dict of named factories, filled by ordinary imports (no scanning)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str, factory: Callable[..., T] | None = None) -> Any:
        """Register ``factory`` under ``name``; usable as a decorator."""

        def add(f: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise KeyError(f"{self.kind} {name!r} is already registered")
            self._factories[name] = f
            return f

        return add(factory) if factory is not None else add

    def get(self, name: str) -> Callable[..., T]:
        try:
            return self._factories[name]
        except KeyError:
            raise InputError(
                f"unknown {self.kind} {name!r}{suggest(name, self._factories)}; "
                f"choose from: {', '.join(sorted(self._factories))}"
            ) from None

    def build(self, name: str, **kwargs: Any) -> T:
        return self.get(name)(**kwargs)

    def names(self) -> list[str]:
        return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._factories))
