"""`make demo`'s seed: the whole command, as `make demo` runs it, twice; every ready-made journey
is published, the cart-abandonment journey has two weeks of history to report, and the engine's
periodic sweep runs over the demo data without a failure."""

import io

from django.core.management import call_command

from journeys import report, triggers
from journeys.engine import library
from journeys.models import Journey


def test_the_demo_seeds_publishes_every_ready_made_journey_and_is_idempotent(db, caplog):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "write key" in out.getvalue()
    live = Journey.objects.filter(status=Journey.Status.LIVE)
    assert sorted(live.values_list("library_key", flat=True)) == sorted(item["key"] for item in library.ITEMS)
    cart = Journey.objects.get(library_key="cart-abandonment")
    start, end = report.date_range(None, None)
    earned = report.journey_report(cart, start, end)  # two weeks of history, for the report to show
    entries = earned["totals"]["entries"]
    call_command("seed_demo", stdout=io.StringIO())
    assert Journey.objects.count() == len(library.ITEMS)
    again = report.journey_report(cart, start, end)
    assert again["totals"]["entries"] == entries > 20  # seeded once
    reminder = {node["id"]: node for node in again["nodes"]}["reminder"]
    assert reminder["conversions"] > 0 and reminder["email"]["clicked_unique"] > 0
    assert again["totals"]["revenue"][0]["currency"] == "EUR"

    with caplog.at_level("ERROR"):
        triggers.sweep_triggers()
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []
