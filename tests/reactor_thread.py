"""
The global reactor, running in a thread, for integration tests that drive
Twisted code in the test process (the deliveries, against real receivers).

Why the global reactor and not a fresh one per test: Twisted's TLS
(C{twisted.protocols.tls}, under STARTTLS and HTTPS) uses the global
reactor whatever reactor a connection is on -- its small writes are
flushed by the global reactor's C{callLater}, and a pull producer (the
SMTP client sends the message with one) is driven by the global
cooperator -- so STARTTLS stalls on any other reactor, even with
C{twisted.protocols.tls._get_default_clock} patched.  The global reactor
cannot be run twice in a process, so, as crochet does, it is started once,
on first use, in a daemon thread, and stopped at exit; tests stop what
they start (L{secdns.ops.alarms.deliver.Deliveries.stop}).  Use L{call}
from the test's thread; never C{reactor.run()} in a test.
"""

from __future__ import annotations

import atexit
import threading

from twisted.internet import defer
from twisted.python.failure import Failure

__all__ = ["reactor", "call"]

_thread: threading.Thread | None = None
_lock = threading.Lock()


def reactor():
    """The global reactor, running (in a daemon thread started the first time)."""
    global _thread
    from twisted.internet import reactor as global_reactor

    with _lock:
        if _thread is None:
            _thread = threading.Thread(
                target=global_reactor.run, kwargs={"installSignalHandlers": False}, name="reactor", daemon=True
            )
            _thread.start()
            atexit.register(_stop)
    return global_reactor


def _stop() -> None:
    from twisted.internet import reactor as global_reactor

    if _thread is not None and _thread.is_alive():
        global_reactor.callFromThread(global_reactor.stop)
        _thread.join(10)


def call(f, *args, timeout: float = 20.0, **kwargs):
    """
    Run C{f(*args, **kwargs)} on the reactor thread and return its result
    (waited for, when it is a Deferred), or raise its exception.
    """
    running = reactor()
    done = threading.Event()
    outcome: list = []

    def run():
        d = defer.maybeDeferred(f, *args, **kwargs)
        d.addBoth(lambda result: (outcome.append(result), done.set()))

    running.callFromThread(run)
    if not done.wait(timeout):
        raise AssertionError(f"{getattr(f, '__qualname__', f)} did not finish within {timeout} s")
    result = outcome[0]
    if isinstance(result, Failure):
        result.raiseException()
    return result
