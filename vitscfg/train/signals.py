"""Stopping a run cleanly: Ctrl-C or SIGTERM finishes the step, the trainer saves a pair
and exits 130 / 143 (the shell convention for "ended by that signal", so ``&&`` chains
and schedulers do not mistake an interrupted run for a finished one); a second signal
aborts at once.
"""

from __future__ import annotations

import contextlib
import signal
from types import FrameType
from typing import Any

from rich.console import Console

EXIT_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143}


class StopSignals:
    """The SIGINT/SIGTERM handlers of a run, and the signal received (None: none yet)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.received: int | None = None
        self._old: dict[int, Any] = {}

    def install(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            if self.received is not None:
                raise KeyboardInterrupt  # second signal: abort without saving
            self.received = signum
            self.console.print(
                f"[yellow]{signal.Signals(signum).name}: stopping after this step and saving "
                "a checkpoint (again to abort at once)[/]"
            )

        for sig in EXIT_SIGNAL:
            # ValueError off the main thread (a test's thread): no handler there.
            with contextlib.suppress(ValueError):
                self._old[sig] = signal.signal(sig, handler)

    def request(self, signum: int) -> None:
        """Stop as if ``signum`` had arrived here (another rank received it)."""
        if self.received is None:
            self.received = signum

    def exit_code(self) -> int | None:
        """130 / 143 after a signal, None when the run was not stopped by one."""
        return None if self.received is None else EXIT_SIGNAL[signal.Signals(self.received)]

    def restore(self) -> None:
        """Put back the handlers that were there before :meth:`install`."""
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()
