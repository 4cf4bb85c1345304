"""A workspace's send rate (Settings → Sending): at most N a second and M per sliding window,
shared by every worker through the database; a worker at the limit is told when more may go
instead of waiting, and no other workspace is held up."""

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from delivery import actions, rate
from delivery.models import SendRate
from tests.factories import make_workspace

T0 = datetime(2026, 12, 2, 9, 0, 0, 5000, tzinfo=UTC)


def limit(workspace, per_second=0, per_window=0, minutes=60):
    return actions.update_sending_settings(
        workspace,
        None,
        {"send_rate_per_second": per_second, "send_window_limit": per_window, "send_window_minutes": minutes},
    )


def test_it_is_unlimited_by_default_and_keeps_no_count(workspace):
    assert rate.take(workspace, 100_000, T0) == (100_000, None)
    assert not SendRate.objects.exists()


def test_it_grants_at_most_the_rate_per_second_and_says_when_more_may_go(workspace):
    limit(workspace, per_second=10)

    assert rate.take(workspace, 4, T0) == (4, None)
    granted, retry_at = rate.take(workspace, 10, T0 + timedelta(milliseconds=300))

    assert granted == 6
    assert T0 + timedelta(seconds=1) <= retry_at <= T0 + timedelta(seconds=1.1)
    assert rate.take(workspace, 1, retry_at - timedelta(milliseconds=1)) == (0, retry_at)
    assert rate.take(workspace, 10, retry_at)[0] == 4  # the first 4 stopped counting; the 6 still count


def test_the_window_limit_slides_rather_than_resetting_on_the_hour(workspace):
    limit(workspace, per_window=100, minutes=60)

    assert rate.take(workspace, 60, T0) == (60, None)
    granted, retry_at = rate.take(workspace, 60, T0 + timedelta(minutes=59))
    assert granted == 40
    assert T0 + timedelta(minutes=60) <= retry_at <= T0 + timedelta(minutes=61)
    # past the top of the hour the 40 sent at 9:59 still count
    assert rate.take(workspace, 100, T0 + timedelta(minutes=61))[0] == 60


def test_the_later_of_the_two_limits_decides_when_the_rest_may_go(workspace):
    limit(workspace, per_second=10, per_window=15, minutes=60)

    assert rate.take(workspace, 10, T0) == (10, None)
    granted, retry_at = rate.take(workspace, 10, T0 + timedelta(seconds=2))

    assert granted == 5
    assert retry_at >= T0 + timedelta(hours=1)


def test_a_workspace_at_its_limit_does_not_hold_up_another(workspace):
    other = make_workspace("Other Shop")
    limit(workspace, per_second=5)
    limit(other, per_second=5)
    rate.take(workspace, 5, T0)

    granted, retry_at = rate.take(workspace, 5, T0)
    assert granted == 0 and retry_at > T0
    assert rate.take(other, 5, T0) == (5, None)


def test_no_window_of_the_limits_length_ever_holds_more_than_the_limit():
    """The pure step, driven by random takes: checked against every grant's own window."""
    random_takes = random.Random(11)
    limits = [(7, 1000), (50, 60_000)]
    used, grants, at = {}, [], 1_700_000_000_000
    for _ in range(3000):
        at += random_takes.choice([0, 1, 3, 40, 250, 900, 5000])
        granted, used, retry_ms = rate.grant(limits, used, random_takes.randint(1, 9), at)
        if granted:
            grants.append((at, granted))
        assert retry_ms is None or retry_ms > at
    assert sum(g for _, g in grants) > 400  # the limits were reached again and again
    for limit_count, window in limits:
        for end, _ in grants:
            assert sum(g for t, g in grants if end - window < t <= end) <= limit_count


@pytest.mark.django_db(transaction=True)
def test_workers_taking_at_once_never_get_more_than_the_limits_together(workspace):
    limit(workspace, per_second=50, per_window=80, minutes=60)
    granted, errors = [], []
    start = threading.Barrier(2)

    def worker(seed):
        takes = random.Random(seed)
        try:
            start.wait()
            for now in (T0, T0 + timedelta(seconds=2)):
                for _ in range(200):
                    got, retry_at = rate.take(workspace, takes.randint(1, 4), now)
                    granted.append(got)
                    if not got and retry_at - now > rate.BUSY_RETRY:
                        break  # this second's limit is spent
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sum(granted) == 80  # 50 in the first second, then the hour's remaining 30
    assert rate.take(workspace, 1, T0 + timedelta(seconds=4))[0] == 0


# -- the settings --------------------------------------------------------------------------------


def test_an_admin_sets_the_rate_under_sending_settings_with_field_errors_for_bad_values(api, admin, workspace):
    client = api(admin)
    body = client.get("/api/sending-settings").json()
    assert (body["send_rate_per_second"], body["send_window_limit"], body["send_window_minutes"]) == (0, 0, 60)
    assert body["smtp_connections"] == 1

    saved = client.patch(
        "/api/sending-settings",
        {"send_rate_per_second": 20, "send_window_limit": 10_000, "send_window_minutes": 60, "smtp_connections": 3},
        format="json",
    )
    assert saved.status_code == 200, saved.content
    granted, retry_at = rate.take(workspace, 50, T0)
    assert granted == 20 and retry_at > T0

    refused = client.patch(
        "/api/sending-settings",
        {"send_rate_per_second": -1, "send_window_minutes": 0, "smtp_connections": 50},
        format="json",
    )
    assert refused.status_code == 400
    fields = refused.json()["fields"]
    assert fields["send_rate_per_second"] == ["Use 0 for no limit."]
    assert fields["send_window_minutes"] == ["At least one minute."]
    assert fields["smtp_connections"] == ["At most 10 connections."]

    cleared = client.patch("/api/sending-settings", {"send_rate_per_second": None}, format="json")
    assert cleared.status_code == 200 and cleared.json()["send_rate_per_second"] == 0
