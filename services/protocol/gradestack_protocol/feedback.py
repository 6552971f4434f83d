"""A problem's feedback policy: how much a contestant learns from each test.

``problem.json`` may carry::

    "feedback": {"visible": ["01", "sample-*"], "default": "verdict"}

- ``visible``: test names or shell-style patterns (``*``, ``?``, ``[...]``) whose
  results are shown in full; typically the samples printed in the statement. Each
  entry must match at least one test, so a typo cannot silently hide nothing.
- ``default``: what every other test shows. ``"verdict"`` (the default): verdict,
  time and memory only. ``"full"``: everything, for practice problems without secrets.

"Full" means the checker's message (which may quote the expected answer), the exit
code or signal, and the program's output excerpt. A hidden test never shows them: a
contestant who could read them could read the hidden answers a few bits per submission.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

VERDICT, FULL = "verdict", "full"
LEVELS = (VERDICT, FULL)
_KEYS = ("visible", "default")


class FeedbackError(ValueError):
    """A feedback policy that does not validate; the text names the field."""


@dataclass(frozen=True)
class FeedbackPolicy:
    visible: tuple[str, ...] = ()
    default: str = VERDICT

    def shows_detail(self, test_name: str) -> bool:
        """Whether a contestant may see this test's detail, program output and exit status."""
        return self.default == FULL or any(fnmatchcase(test_name, pattern) for pattern in self.visible)

    @classmethod
    def from_dict(cls, payload: Any, test_names: Iterable[str]) -> FeedbackPolicy:
        """Validate the ``feedback`` object of problem.json against the problem's test names."""
        if payload is None:
            return cls()
        if not isinstance(payload, dict):
            raise FeedbackError('\'feedback\' must be an object like {"visible": ["01"], "default": "verdict"}')
        # Unknown keys are refused: a misspelt "visible" must not leave the setter believing samples are shown.
        unknown = sorted(set(payload) - set(_KEYS))
        if unknown:
            raise FeedbackError(f"'feedback' has unknown field(s) {', '.join(map(repr, unknown))}; known: {_KEYS}")
        default = payload.get("default", VERDICT)
        if default not in LEVELS:
            raise FeedbackError(f"'feedback.default' must be one of {', '.join(map(repr, LEVELS))}, got {default!r}")
        visible = payload.get("visible", [])
        if not isinstance(visible, list) or not all(isinstance(p, str) and p.strip() for p in visible):
            raise FeedbackError("'feedback.visible' must be a list of test names or patterns (non-empty strings)")
        names = list(test_names)
        for pattern in visible:
            if not any(fnmatchcase(name, pattern) for name in names):
                raise FeedbackError(f"'feedback.visible' entry {pattern!r} matches no test (tests: {', '.join(names)})")
        return cls(visible=tuple(visible), default=default)
