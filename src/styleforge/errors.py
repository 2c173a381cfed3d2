"""Errors that the CLI reports as one clear line with exit code 2."""

from __future__ import annotations

__all__ = ["StyleforgeError", "InputError", "suggest"]

import difflib
from collections.abc import Iterable


class StyleforgeError(Exception):
    """An error caused by the user's input or environment, not by a bug.

    The CLI prints ``error: <message>`` and exits with :attr:`exit_code`.
    """

    exit_code: int = 2


class InputError(StyleforgeError, ValueError):
    """Bad input: unreadable image, unknown name, inconsistent options."""


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""``."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""
