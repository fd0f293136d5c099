"""Running a plugin's own code (its import, its hooks) so that nothing it does ends the application.

A plugin is code regionpaint did not write. While it runs under :func:`run_plugin_code`:

* ``sys.exit()`` (``SystemExit``), ``KeyboardInterrupt``, ``GeneratorExit`` and every ``Exception`` become a
  :class:`PluginCodeError`; the caller records it against the plugin and goes on without it.
* ``os._exit()`` cannot be caught, so it is *replaced* for the duration: calling it raises instead of
  ending the process (a plugin that did ``from os import _exit`` at import time got the replacement too).
* Whatever the plugin prints goes to stderr, so stdout carries only what the command itself prints
  (``batch --json``, ``engines --json``).

The one exception let through: a Ctrl+C the person pressed while a plugin was importing. It is a request
to stop the program, not a plugin's fault, so the ``KeyboardInterrupt`` it raises is re-raised (the command
line answers "interrupted", exit 130). A ``KeyboardInterrupt`` with no SIGINT behind it was raised by the
plugin's code and is that plugin's failure. (Signals arrive on the main thread only, so off the main
thread every ``KeyboardInterrupt`` is the plugin's own.)

Process-wide effects while plugin code runs, briefly (milliseconds): ``os._exit`` raises, SIGINT is
watched, and file descriptor 1 points at stderr. Plugins load on the main thread; a render thread
printing to stdout at that moment prints to stderr instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")


class PluginCodeError(Exception):
    """A plugin's code failed or tried to end the process; the message says how, in one line."""


class _ExitCalled(BaseException):
    """Raised in place of ``os._exit(status)`` while plugin code runs (a BaseException, like SystemExit,
    so a plugin's own ``except Exception`` does not swallow it)."""

    def __init__(self, status: object) -> None:
        super().__init__(status)
        self.status = status


def describe(exc: BaseException) -> str:
    """``Type: first line of the message`` (the type alone when there is no message)."""
    if isinstance(exc, _ExitCalled):
        return f"called os._exit({exc.status!r}); regionpaint kept running"
    if isinstance(exc, SystemExit):
        return f"called sys.exit({exc.code!r}); regionpaint kept running"
    if isinstance(exc, KeyboardInterrupt):
        return "raised KeyboardInterrupt itself (no Ctrl+C was pressed)"
    text = str(exc).strip()
    message = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def run_plugin_code(call: Callable[[], T]) -> T:
    """``call()`` with the plugin's failures, exits and stdout contained (see the module docstring).

    Raises :class:`PluginCodeError` for anything the plugin raised or tried, ``KeyboardInterrupt`` only for a
    Ctrl+C the person pressed meanwhile.
    """
    with _watch_ctrl_c() as pressed, _exit_raises(), _stdout_to_stderr():
        try:
            return call()
        except KeyboardInterrupt as exc:
            if pressed():
                raise
            raise PluginCodeError(describe(exc)) from exc
        except (Exception, SystemExit, GeneratorExit, _ExitCalled) as exc:
            raise PluginCodeError(describe(exc)) from exc


@contextlib.contextmanager
def _exit_raises() -> Iterator[None]:
    real = os._exit

    def refuse_exit(status: object = 0) -> None:
        raise _ExitCalled(status)

    os._exit = refuse_exit
    try:
        yield
    finally:
        os._exit = real


@contextlib.contextmanager
def _watch_ctrl_c() -> Iterator[Callable[[], bool]]:
    """Yields ``pressed()``: whether a SIGINT arrived; the previous handler still runs (so Ctrl+C interrupts)."""
    seen = [False]
    if threading.current_thread() is not threading.main_thread():
        yield lambda: seen[0]
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        seen[0] = True
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGINT, handler)
    except (ValueError, OSError):  # an embedding that owns the signals: watch nothing
        yield lambda: seen[0]
        return
    try:
        yield lambda: seen[0]
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """``print`` and writes to file descriptor 1 (C extensions, subprocesses) go to stderr meanwhile."""
    out, err = sys.stdout, sys.stderr
    with contextlib.suppress(Exception):
        if out is not None:
            out.flush()
    saved = None
    try:
        saved = os.dup(1)
        os.dup2(2, 1)
    except OSError:  # no descriptor 1 or 2 (a windowed app): the Python-level redirect is enough
        if saved is not None:
            os.close(saved)
        saved = None
    try:
        with contextlib.redirect_stdout(err if err is not None else out):
            yield
    finally:
        with contextlib.suppress(Exception):
            if err is not None:
                err.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)
