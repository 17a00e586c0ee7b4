"""Ctrl-C and SIGTERM: stop promptly, say what is kept, exit 130 (143 for SIGTERM).

:class:`InterruptibleGroup` is the click group class of ``bpdiag`` (``LazyGroup`` derives from
it). Its ``main`` installs handlers for SIGINT and SIGTERM that raise ``KeyboardInterrupt`` in
the main thread; ``invoke`` turns that into one line on stderr (``interrupted: ...``) and exits
at once with :func:`os._exit` (no interpreter teardown, so no XLA or torch exit-time crash).
Every output file is written point by point through :mod:`bpdiag.results`, so what was appended
before the interrupt is a valid partial table that ``--resume`` completes.

Two guards make the stop certain: a signal that lands inside a garbage-collector callback (where
Python would print "Exception ignored" and drop the exception) is re-sent 50 ms later, and a
watchdog ends the process with the same message and code if it is still alive
:data:`GRACE_S` seconds after the first signal (or at once on a second Ctrl-C).
"""

from __future__ import annotations

import os
import signal
import sys
import threading

import click

#: Seconds between the first signal and the watchdog's hard exit.
GRACE_S = 3.0
_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
_state: dict = {"signal": None, "out": None}


def _message() -> str:
    out = _state["out"]
    kept = f"finished points are kept in {out} (--resume continues)" if out else "nothing kept"
    return f"interrupted: {kept}"


def _exit_now(code: int) -> None:
    """Flush, print the message once, and leave without interpreter teardown."""
    try:
        sys.stdout.flush()
    except Exception:  # noqa: BLE001 - a closed pipe must not stop the exit
        pass
    try:
        sys.stderr.write(_message() + "\n")
        sys.stderr.flush()
    except Exception:  # noqa: BLE001
        pass
    os._exit(code)


def _in_gc_callback(frame) -> bool:
    while frame is not None:
        if "gc_callback" in frame.f_code.co_name:
            return True
        frame = frame.f_back
    return False


def _handler(signum, frame) -> None:
    code = _CODES.get(signum, 130)
    if _state["signal"] is not None and not _state.get("resent"):
        _exit_now(code)  # a second Ctrl-C: now
    _state["resent"] = False
    if _state["signal"] is None:
        _state["signal"] = signum
        timer = threading.Timer(GRACE_S, _exit_now, (code,))
        timer.daemon = True
        timer.start()
    if _in_gc_callback(frame):  # an exception raised here would be ignored: try again soon
        _state["resent"] = True
        threading.Timer(0.05, os.kill, (os.getpid(), signum)).start()
        return
    raise KeyboardInterrupt


def _out_of(args) -> str | None:
    args = list(args)
    for i, a in enumerate(args):
        if a == "--out" and i + 1 < len(args):
            return args[i + 1]
        if a.startswith("--out="):
            return a.split("=", 1)[1]
    return None


class InterruptibleGroup(click.Group):
    """A click group that stops on Ctrl-C/SIGTERM with one line and exit code 130/143."""

    def main(self, args=None, *a, **kw):
        argv = sys.argv[1:] if args is None else args
        _state.update(signal=None, out=_out_of(argv))
        before = {}
        if threading.current_thread() is threading.main_thread():
            before = {sig: signal.signal(sig, _handler) for sig in _CODES}
        try:
            return super().main(args, *a, **kw)
        finally:  # in-process callers (CliRunner) get their own handlers back
            for sig, h in before.items():
                signal.signal(sig, h)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            _exit_now(_CODES.get(_state["signal"], 130))
