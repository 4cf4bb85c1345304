"""The one clock of the domain. Everything in journeys, delivery and editor that needs "now" asks
`clock.now()`, so tests and the simulator can move time (`with clock.frozen(t): ...`,
`clock.advance(delta)`). Only this module reads Django's wall clock. (accounts, below journeys,
keeps its own: invitation and token expiry, login throttles.)"""

from contextlib import contextmanager

from django.utils import timezone

_frozen = None


def now():
    return _frozen if _frozen is not None else timezone.now()


@contextmanager
def frozen(at):
    global _frozen
    previous, _frozen = _frozen, at
    try:
        yield
    finally:
        _frozen = previous


def advance(delta):
    """Move a frozen clock forward (only inside `frozen`)."""
    global _frozen
    if _frozen is None:
        raise RuntimeError("advance() needs a frozen clock")
    _frozen = _frozen + delta
    return _frozen
