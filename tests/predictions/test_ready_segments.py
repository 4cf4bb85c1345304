"""Ready segments (issue 14): RFM groups with the workspace's own thresholds, made from orders sent
through /v1/, kept current by the segment machinery; Wayline keeps their rules (a marketer cannot
edit or delete them); too few customers make none."""

from datetime import timedelta

from journeys import clock
from journeys.models import Segment, SegmentMembership
from journeys.predictions import ready


def buy(tracker, user, orders, last_days_ago, every_days=10):
    for n in range(orders):
        at = clock.now() - timedelta(days=last_days_ago + n * every_days)
        properties = {"order_id": f"{user}-{n}", "total": 40, "products": [{"sku": "TENT", "price": 40}]}
        tracker.post(
            "track",
            {"userId": user, "event": "Order Completed", "properties": properties, "timestamp": at.isoformat()},
        )


def shop(tracker, process):
    for n in range(5):
        buy(tracker, f"champ{n}", 6, 2)
        buy(tracker, f"risk{n}", 4, 200)
        buy(tracker, f"new{n}", 1, 5)
    for n in range(10):
        buy(tracker, f"sleep{n}", 1, 300)
    process()


def members(workspace, key):
    segment = Segment.objects.get(workspace=workspace, ready_key=key)
    rows = SegmentMembership.objects.filter(segment=segment, left_at__isnull=True)
    return {user.rstrip("0123456789") for user in rows.values_list("contact__user_id", flat=True)}, rows.count()


def test_rfm_groups_follow_the_workspace_s_own_customers(tracker, process, workspace, api, marketer):
    shop(tracker, process)
    kept = ready.ensure_ready_segments(workspace, clock.now())
    assert {s.ready_key for s in kept} >= {"rfm_champions", "rfm_loyal", "rfm_at_risk", "rfm_hibernating", "rfm_new"}
    assert members(workspace, "rfm_champions") == ({"champ"}, 5)
    assert members(workspace, "rfm_at_risk") == ({"risk"}, 5)
    assert members(workspace, "rfm_hibernating") == ({"sleep"}, 10)
    assert members(workspace, "rfm_new") == ({"new"}, 5)
    assert members(workspace, "rfm_loyal") == (set(), 0)

    # Kept current as orders arrive: a hibernating customer who buys twice now is no longer asleep.
    buy(tracker, "sleep0", 2, 0, every_days=1)
    process()
    assert members(workspace, "rfm_hibernating") == ({"sleep"}, 9)

    # Run again (as after each nightly fit): same segments, not duplicated.
    ready.ensure_ready_segments(workspace, clock.now())
    assert Segment.objects.filter(workspace=workspace, ready_key="rfm_champions").count() == 1

    # The API shows them as ready and refuses to change their rule or delete them.
    client = api(marketer)
    champions = Segment.objects.get(workspace=workspace, ready_key="rfm_champions")
    listed = {row["id"]: row for row in client.get("/api/segments").json()["results"]}
    assert listed[champions.pk]["ready_key"] == "rfm_champions"
    changed = client.patch(f"/api/segments/{champions.pk}", {"rule": {"all": []}}, format="json")
    assert changed.status_code == 400 and "rule" in changed.json()["fields"]
    assert client.delete(f"/api/segments/{champions.pk}").status_code == 409
    renamed = client.patch(f"/api/segments/{champions.pk}", {"name": "Our best"}, format="json")
    assert renamed.status_code == 200


def test_too_few_customers_make_no_ready_segments(tracker, process, workspace):
    for n in range(ready.MIN_CUSTOMERS - 1):
        buy(tracker, f"c{n}", 2, 3)
    process()
    assert ready.ensure_ready_segments(workspace, clock.now()) == []
    assert not Segment.objects.filter(workspace=workspace).exclude(ready_key="").exists()


def test_a_marketer_s_segment_with_the_same_name_is_left_alone(tracker, process, workspace, api, marketer):
    api(marketer).post("/api/segments", {"name": "Champions", "kind": "static"}, format="json")
    shop(tracker, process)
    ready.ensure_ready_segments(workspace, clock.now())
    assert Segment.objects.get(workspace=workspace, ready_key="rfm_champions").name == "Champions (ready)"
    assert Segment.objects.get(workspace=workspace, name="Champions").ready_key == ""
