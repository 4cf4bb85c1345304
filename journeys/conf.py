"""The engine's settings. They are declared, with their defaults and environment variables, in
wayline/settings.py (the JOURNEYS_* block); this module only reads them, at call time, so tests
and worker processes can set them like any Django setting."""

from datetime import timedelta

from django.conf import settings


def batch_size() -> int:
    """Enrollments a worker claims at once."""
    return int(settings.JOURNEYS_BATCH_SIZE)


def lease() -> timedelta:
    """How long a claim holds before another worker may take the work over."""
    return timedelta(seconds=float(settings.JOURNEYS_LEASE_SECONDS))


def kicks_enabled() -> bool:
    return settings.JOURNEYS_KICKS != "off"


def trigger_sweep_interval() -> timedelta:
    return timedelta(seconds=float(settings.JOURNEYS_TRIGGER_SWEEP_SECONDS))


def sweep_chunk() -> int:
    """Contacts a periodic trigger sweep reads at once."""
    return int(settings.JOURNEYS_SWEEP_CHUNK)


def max_trigger_age() -> timedelta:
    """An event older than this starts no journey (a replayed or imported old event)."""
    return timedelta(hours=float(settings.JOURNEYS_MAX_TRIGGER_AGE_HOURS))


def webhook_concurrency() -> int:
    return int(settings.JOURNEYS_WEBHOOK_CONCURRENCY)


def webhook_allowed_networks() -> list[str]:
    """Networks an operator lets webhooks reach although they are private (an internal CRM)."""
    return list(settings.JOURNEYS_WEBHOOK_ALLOWED_NETWORKS or [])
