"""A progress bar for many runs: done, failed and time left, on stderr.

tqdm.auto draws a widget in Jupyter and a text bar in a terminal. The bar
is off when asked (``--quiet``) and, by default, when stderr is neither a
terminal nor a notebook (a CI log gets no carriage-return noise).
"""

from __future__ import annotations

import sys
from typing import Any


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()
    except AttributeError:
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def wanted(progress: bool | None) -> bool:
    """``progress`` as asked, or (None) whether stderr is a terminal or a notebook."""
    if progress is not None:
        return progress
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):
        tty = False
    return tty or _in_notebook()


class Progress:
    """Counts runs as they finish; draws a bar when ``show``."""

    def __init__(self, total: int, *, show: bool, done: int = 0, desc: str = "runs") -> None:
        self.done = done
        self.failed = 0
        self._bar: Any = None
        if show and total > 0:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=total,
                initial=done,
                desc=desc,
                unit="run",
                file=sys.stderr,
                dynamic_ncols=True,
                smoothing=0.1,
            )
            self._bar.set_postfix(failed=0)

    def update(self, ok: bool) -> None:
        self.done += 1
        if not ok:
            self.failed += 1
        if self._bar is not None:
            if not ok:
                self._bar.set_postfix(failed=self.failed, refresh=False)
            self._bar.update(1)

    def grow(self, extra: int) -> None:
        """More runs to come (sequential stopping adds batches)."""
        if self._bar is not None:
            self._bar.total += extra
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
