"""Saved segments (issue 13, first part): membership kept as events arrive through /v1/, swept as
time passes, and the /api/segments endpoints."""

import csv
import io
from datetime import timedelta

from journeys import clock
from journeys.customers import segments
from journeys.models import Contact, Segment, SegmentMembership

PRO = {"field": "contact.traits.plan", "op": "eq", "value": "pro"}


def make_segment(api, user, name="Pro", rule=None, kind="dynamic", **extra):
    body = {"name": name, "kind": kind, **extra}
    if rule is not None:
        body["rule"] = rule
    response = api(user).post("/api/segments", body, format="json")
    assert response.status_code == 201, response.content
    return Segment.objects.get(pk=response.json()["id"])


def rows(segment, user_id):
    return list(SegmentMembership.objects.filter(segment=segment, contact__user_id=user_id).order_by("id"))


def members(segment):
    return set(
        SegmentMembership.objects.filter(segment=segment, left_at__isnull=True).values_list(
            "contact__user_id", flat=True
        )
    )


# -- membership as events arrive -------------------------------------------------------------------


def test_it_opens_and_closes_membership_as_identify_calls_change_the_match(tracker, workspace, marketer, api, process):
    segment = make_segment(api, marketer, rule={"all": [PRO]})
    tracker.post("identify", {"userId": "u1", "traits": {"plan": "pro", "email": "ann@example.com"}})
    process()
    [row] = rows(segment, "u1")
    assert row.entered_at is not None and row.left_at is None

    tracker.post("identify", {"userId": "u1", "traits": {"plan": "free"}})
    process()
    [row] = rows(segment, "u1")
    assert row.left_at is not None and row.left_at >= row.entered_at

    tracker.post("identify", {"userId": "u1", "traits": {"plan": "pro"}})
    process()
    first, second = rows(segment, "u1")
    assert first.left_at is not None and second.left_at is None and second.entered_at >= first.left_at


def test_a_track_of_the_performed_event_makes_a_member(tracker, workspace, marketer, api, process):
    segment = make_segment(api, marketer, name="Signed up", rule={"performed": "Signed Up"})
    tracker.post("track", {"userId": "u1", "event": "Clicked"})
    process()
    assert members(segment) == set()
    tracker.post("track", {"userId": "u1", "event": "Signed Up"})
    process()
    assert members(segment) == {"u1"}


def test_rules_on_the_cart_and_orders_follow_commerce_events(tracker, workspace, marketer, api, process):
    big_cart = make_segment(api, marketer, name="Big cart", rule={"field": "cart.total", "op": "gte", "value": 100})
    buyers = make_segment(api, marketer, name="Buyers", rule={"field": "contact.orders_count", "op": "gte", "value": 1})
    tent = {"product_id": "tent", "sku": "tent", "price": 150, "quantity": 1}
    tracker.post("track", {"userId": "u1", "event": "Product Added", "properties": tent})
    process()
    assert members(big_cart) == {"u1"} and members(buyers) == set()

    order = {"order_id": "o-1", "total": 150, "products": [tent]}
    tracker.post("track", {"userId": "u1", "event": "Order Completed", "properties": order})
    process()
    assert members(big_cart) == set()  # the order emptied the cart
    assert members(buyers) == {"u1"}


def test_a_performed_within_member_leaves_when_its_time_has_passed(tracker, workspace, marketer, api, process):
    segment = make_segment(api, marketer, name="Active buyers", rule={"performed": "Order Completed", "within": "P7D"})
    tracker.post("track", {"userId": "u1", "event": "Order Completed", "properties": {"order_id": "o1", "total": 5}})
    process()
    assert members(segment) == {"u1"}

    assert segments.sweep(clock.now()) == 0  # nothing has changed yet
    with clock.frozen(clock.now() + timedelta(days=8)):
        assert segments.sweep(clock.now(), since=clock.now() - timedelta(minutes=5)) == 1
        [row] = rows(segment, "u1")
        assert row.left_at == clock.now()


def test_a_change_reevaluates_only_the_segments_it_can_affect():
    traits_only = segments.reads_of({"all": [PRO]})
    performed = segments.reads_of({"performed": "Signed Up"})
    track_elsewhere = segments.Change(frozenset({"contact.last_activity_at"}), "Clicked")
    assert not track_elsewhere.affects(traits_only) and not track_elsewhere.affects(performed)
    assert segments.Change(frozenset(), "Signed Up").affects(performed)
    assert segments.Change(frozenset({"contact.traits", "contact.plan"})).affects(traits_only)


def test_editing_the_rule_rebuilds_the_membership(workspace, marketer, api):
    Contact.objects.create(workspace=workspace, user_id="de", country="DE")
    Contact.objects.create(workspace=workspace, user_id="fr", country="FR")
    segment = make_segment(api, marketer, name="Here", rule={"field": "contact.country", "op": "eq", "value": "DE"})
    assert members(segment) == {"de"}
    response = api(marketer).patch(
        f"/api/segments/{segment.pk}", {"rule": {"field": "contact.country", "op": "eq", "value": "FR"}}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["member_count"] == 1
    assert members(segment) == {"fr"}


# -- the API ---------------------------------------------------------------------------------------


def test_the_list_and_detail_show_the_member_count(workspace, marketer, qa, api):
    Contact.objects.create(workspace=workspace, user_id="a", traits={"plan": "pro"})
    Contact.objects.create(workspace=workspace, user_id="b", traits={"plan": "free"})
    segment = make_segment(api, marketer, rule=PRO, description="Paying")
    listed = api(qa).get("/api/segments").json()["results"]
    assert [(s["name"], s["kind"], s["member_count"], s["rule"]) for s in listed] == [("Pro", "dynamic", 1, PRO)]
    detail = api(qa).get(f"/api/segments/{segment.pk}").json()
    assert detail["description"] == "Paying" and detail["created_by"] == "marketer@acme.test"


def test_preview_counts_and_samples_without_saving(workspace, marketer, api):
    for n in range(12):
        Contact.objects.create(workspace=workspace, user_id=f"p{n}", email=f"p{n}@example.com", traits={"plan": "pro"})
    Contact.objects.create(workspace=workspace, user_id="f", traits={"plan": "free", "name": "Fay"})
    answer = api(marketer).post("/api/segments/preview", {"rule": PRO}, format="json")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["count"] == 12 and body["capped"] is False and body["total"] == 13
    assert len(body["sample"]) == 10
    assert set(body["sample"][0]) >= {"id", "email", "user_id", "name"}
    assert Segment.objects.count() == 0 and SegmentMembership.objects.count() == 0


def test_a_bad_rule_is_a_400_naming_its_path(workspace, marketer, api):
    client = api(marketer)
    unknown = client.post(
        "/api/segments",
        {"name": "Bad", "rule": {"all": [{"field": "event.name", "op": "eq", "value": "x"}]}},
        format="json",
    )
    assert unknown.status_code == 400
    assert "rule.all[0].field" in unknown.json()["fields"]
    duration = client.post(
        "/api/segments", {"name": "Bad", "rule": {"all": [PRO, {"performed": "X", "within": "a week"}]}}, format="json"
    )
    assert duration.status_code == 400 and "rule.all[1].within" in duration.json()["fields"]
    deep = {"field": "contact." + ".".join(["x"] * 12), "op": "exists"}
    assert "rule.field" in client.post("/api/segments", {"name": "Bad", "rule": deep}, format="json").json()["fields"]
    nested = PRO
    for _ in range(40):
        nested = {"not": nested}
    assert client.post("/api/segments", {"name": "Bad", "rule": nested}, format="json").status_code == 400
    preview = client.post("/api/segments/preview", {"rule": {"field": "contact.x", "op": "nope"}}, format="json")
    assert preview.status_code == 400 and "rule.op" in preview.json()["fields"]
    assert Segment.objects.count() == 0


def test_names_are_required_and_unique_per_workspace(workspace, marketer, other_workspace, outsider, api):
    make_segment(api, marketer, rule=PRO)
    again = api(marketer).post("/api/segments", {"name": "Pro", "rule": PRO}, format="json")
    assert again.status_code == 400 and "name" in again.json()["fields"]
    nameless = api(marketer).post("/api/segments", {"rule": PRO}, format="json")
    assert nameless.status_code == 400 and "name" in nameless.json()["fields"]
    elsewhere = api(outsider).post("/api/segments", {"name": "Pro", "rule": PRO}, format="json")
    assert elsewhere.status_code == 201


def test_static_lists_take_members_by_id_and_email(workspace, marketer, api):
    ann = Contact.objects.create(workspace=workspace, user_id="ann", email="ann@example.com")
    bob = Contact.objects.create(workspace=workspace, user_id="bob", email="bob@example.com")
    vip = make_segment(api, marketer, name="VIP", kind="static")
    client = api(marketer)
    added = client.post(f"/api/segments/{vip.pk}/members", {"contacts": [ann.pk]}, format="json")
    assert added.json() == {"added": 1, "not_found": []}
    added = client.post(f"/api/segments/{vip.pk}/members", {"emails": ["bob@example.com", "x@y.z"]}, format="json")
    assert added.json() == {"added": 1, "not_found": ["x@y.z"]}
    assert members(vip) == {"ann", "bob"}

    assert client.delete(f"/api/segments/{vip.pk}/members/{ann.pk}").status_code == 204
    assert members(vip) == {"bob"}
    assert client.delete(f"/api/segments/{vip.pk}/members/{ann.pk}").status_code == 404
    listed = client.get(f"/api/segments/{vip.pk}/members?q=bob").json()
    assert [m["user_id"] for m in listed["results"]] == ["bob"] and listed["results"][0]["entered_at"]
    assert bob.pk == listed["results"][0]["id"]


def test_pasted_emails_match_whatever_their_letter_case(workspace, marketer, api):
    Contact.objects.create(workspace=workspace, user_id="ann", email="ann.lee@example.com")
    Contact.objects.create(workspace=workspace, user_id="cy", email="Cy@Example.com")
    vip = make_segment(api, marketer, name="VIP", kind="static")
    pasted = {"emails": [" Ann.Lee@EXAMPLE.com", "cy@example.com", "nobody@example.com"]}
    added = api(marketer).post(f"/api/segments/{vip.pk}/members", pasted, format="json")
    assert added.json() == {"added": 2, "not_found": ["nobody@example.com"]}
    assert members(vip) == {"ann", "cy"}


def test_a_dynamic_segment_refuses_hand_made_members(workspace, marketer, api):
    ann = Contact.objects.create(workspace=workspace, user_id="ann", traits={"plan": "pro"})
    segment = make_segment(api, marketer, rule=PRO)
    refused = api(marketer).post(f"/api/segments/{segment.pk}/members", {"contacts": [ann.pk]}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "segment_dynamic"
    assert api(marketer).delete(f"/api/segments/{segment.pk}/members/{ann.pk}").status_code == 409
    assert members(segment) == {"ann"}


def test_history_counts_members_entries_and_exits_per_day(workspace, marketer, api):
    vip = make_segment(api, marketer, name="VIP", kind="static")
    ann = Contact.objects.create(workspace=workspace, user_id="ann")
    bob = Contact.objects.create(workspace=workspace, user_id="bob")
    now = clock.now()
    with clock.frozen(now - timedelta(days=2)):
        segments.add_members(vip, [ann, bob], clock.now())
    with clock.frozen(now - timedelta(days=1)):
        segments.remove_member(vip, bob, clock.now())
    days = api(marketer).get(f"/api/segments/{vip.pk}/history?days=3").json()
    assert [(d["members"], d["entered"], d["left"]) for d in days] == [(2, 2, 0), (1, 0, 1), (1, 0, 0)]
    assert days[-1]["day"] == now.date().isoformat()
    assert api(marketer).get(f"/api/segments/{vip.pk}/history?days=0").status_code == 400


def test_export_writes_the_members_as_csv_with_formulas_as_text(workspace, marketer, api):
    vip = make_segment(api, marketer, name="VIP", kind="static")
    evil = Contact.objects.create(
        workspace=workspace, user_id="=HYPERLINK(1)", email="eve@example.com", traits={"name": "@Eve"}
    )
    segments.add_members(vip, [evil], clock.now())
    response = api(marketer).get(f"/api/segments/{vip.pk}/export")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.content.decode())))
    assert table[0] == ["email", "user_id", "name", "entered_at"]
    assert table[1][:3] == ["eve@example.com", "'=HYPERLINK(1)", "'@Eve"] and table[1][3]


def test_another_workspace_sees_nothing(workspace, marketer, other_workspace, outsider, api):
    Contact.objects.create(workspace=workspace, user_id="ann", traits={"plan": "pro"})
    segment = make_segment(api, marketer, rule=PRO)
    client = api(outsider)
    assert client.get("/api/segments").json()["results"] == []
    for path in ("", "/members", "/history", "/export"):
        assert client.get(f"/api/segments/{segment.pk}{path}").status_code == 404, path
    assert client.delete(f"/api/segments/{segment.pk}").status_code == 404
    preview = client.post("/api/segments/preview", {"rule": PRO}, format="json").json()
    assert preview["count"] == 0 and preview["sample"] == []


def test_qa_reads_but_cannot_change_segments(workspace, marketer, qa, api):
    segment = make_segment(api, marketer, rule=PRO)
    client = api(qa)
    assert client.post("/api/segments", {"name": "Mine", "rule": PRO}, format="json").status_code == 403
    assert client.patch(f"/api/segments/{segment.pk}", {"name": "X"}, format="json").status_code == 403
    assert client.delete(f"/api/segments/{segment.pk}").status_code == 403
    assert client.get(f"/api/segments/{segment.pk}").status_code == 200
    assert client.post("/api/segments/preview", {"rule": PRO}, format="json").status_code == 200


def test_a_member_editing_a_profile_moves_the_contact(workspace, marketer, api):
    ann = Contact.objects.create(workspace=workspace, user_id="ann", traits={"plan": "free"})
    segment = make_segment(api, marketer, rule=PRO)
    assert members(segment) == set()
    edited = api(marketer).patch(f"/api/contacts/{ann.pk}", {"traits": {"plan": "pro"}}, format="json")
    assert edited.status_code == 200, edited.content
    assert members(segment) == {"ann"}


def test_a_merge_leaves_the_loser_out_and_keeps_the_survivor_in_static_lists(
    tracker, workspace, marketer, api, process
):
    tracker.post("track", {"anonymousId": "a1", "event": "Viewed"})
    tracker.post("identify", {"userId": "u1", "traits": {"plan": "pro"}})
    process()
    visitor = Contact.objects.get(workspace=workspace, identities__value="a1")
    vip = make_segment(api, marketer, name="VIP", kind="static")
    viewers = make_segment(api, marketer, name="Viewers", rule={"performed": "Viewed"})
    segments.add_members(vip, [visitor], clock.now())
    assert members(viewers) == {None}  # the anonymous visitor

    tracker.post("alias", {"previousId": "a1", "userId": "u1"})
    process()
    survivor = Contact.objects.get(workspace=workspace, user_id="u1")
    assert members(vip) == {"u1"} and members(viewers) == {"u1"}
    assert not SegmentMembership.objects.filter(contact__merged_into=survivor, left_at__isnull=True).exists()


def test_the_engine_loop_sweeps_segments_every_few_minutes(tracker, workspace, marketer, api, process):
    from journeys import loop
    from journeys.models import EngineLease

    segment = make_segment(api, marketer, name="Recent", rule={"performed": "Viewed", "within": "P7D"})
    tracker.post("track", {"userId": "u1", "event": "Viewed"})
    process()
    later = clock.now() + timedelta(days=8)
    with clock.frozen(later):
        loop._maybe_sweep_segments("loop-1")
        assert members(segment) == set()
    swept_at = EngineLease.objects.get(name=loop.SEGMENT_SWEEP).last_run_at
    assert swept_at == later
    with clock.frozen(later + timedelta(minutes=1)):
        loop._maybe_sweep_segments("loop-1")  # not due yet
    assert EngineLease.objects.get(name=loop.SEGMENT_SWEEP).last_run_at == swept_at


# -- the sweep looks only at what is due -----------------------------------------------------------


def test_the_sweep_evaluates_only_contacts_whose_time_has_come(tracker, workspace, marketer, api, process):
    """Each evaluation keeps when the contact's answer can next change by time alone: the oldest
    counted event's time + the window. A sweep before then evaluates nobody."""
    from journeys.models import SegmentCheck

    segment = make_segment(api, marketer, name="Viewed lately", rule={"performed": "Viewed", "within": "P7D"})
    start = clock.now()
    tracker.post("track", {"userId": "early", "event": "Viewed", "timestamp": (start - timedelta(days=5)).isoformat()})
    tracker.post("track", {"userId": "late", "event": "Viewed", "timestamp": (start - timedelta(days=1)).isoformat()})
    tracker.post("identify", {"userId": "never", "traits": {"plan": "free"}})
    process()
    assert members(segment) == {"early", "late"}
    due = dict(SegmentCheck.objects.filter(segment=segment).values_list("contact__user_id", "due_at"))
    assert set(due) == {"early", "late"}  # nothing timed can change "never"'s answer
    assert abs(due["early"] - (start + timedelta(days=2))) < timedelta(seconds=5)

    with clock.frozen(start + timedelta(days=1)):
        assert segments.sweep(clock.now()) == 0
        assert SegmentCheck.objects.filter(segment=segment).count() == 2  # none was due: none evaluated
    with clock.frozen(start + timedelta(days=3)):
        assert segments.sweep(clock.now()) == 1
        assert members(segment) == {"late"}
        assert not SegmentCheck.objects.filter(segment=segment, contact__user_id="early").exists()
    with clock.frozen(start + timedelta(days=7)):
        assert segments.sweep(clock.now()) == 1
        assert members(segment) == set()


def test_a_relative_date_rule_is_due_when_the_date_passes(workspace, marketer, api):
    """'Renewal within the next 30 days': a contact whose renewal is in 40 days enters in 10."""
    now = clock.now()
    Contact.objects.create(
        workspace=workspace, user_id="r", traits={"renews": (now + timedelta(days=40)).date().isoformat()}
    )
    rule = {"field": "contact.traits.renews", "op": "before", "value": "P30D"}
    segment = make_segment(api, marketer, name="Renewing", rule=rule)
    assert members(segment) == set()
    with clock.frozen(now + timedelta(days=9)):
        assert segments.sweep(clock.now()) == 0
    with clock.frozen(now + timedelta(days=10, hours=1)):
        assert segments.sweep(clock.now()) == 1
    assert members(segment) == {"r"}


def test_a_large_workspace_is_rebuilt_by_a_worker_with_its_progress(workspace, marketer, api, monkeypatch):
    monkeypatch.setattr(segments, "INLINE_REBUILD", 1)
    for index in range(3):
        Contact.objects.create(workspace=workspace, user_id=f"de{index}", country="DE")
    segment = make_segment(api, marketer, name="Germany", rule={"field": "contact.country", "op": "eq", "value": "DE"})
    answer = api(marketer).get(f"/api/segments/{segment.pk}").json()
    assert answer["rebuild"]["state"] == "queued" and answer["member_count"] == 0

    segments.rebuild_task(segment.pk, segment.version)
    answer = api(marketer).get(f"/api/segments/{segment.pk}").json()
    assert answer["rebuild"] == {"state": "done", "done": 3, "total": 3}
    assert answer["member_count"] == 3


def test_a_rebuild_for_an_older_rule_does_nothing(workspace, marketer, api):
    Contact.objects.create(workspace=workspace, user_id="de", country="DE")
    segment = make_segment(api, marketer, name="Here", rule={"field": "contact.country", "op": "eq", "value": "DE"})
    api(marketer).patch(
        f"/api/segments/{segment.pk}", {"rule": {"field": "contact.country", "op": "eq", "value": "FR"}}, format="json"
    )
    segments.rebuild_task(segment.pk, segment.version)  # the first rule's task, run late
    assert members(segment) == set()


def test_a_worker_that_cached_the_segments_sees_a_new_one_after_the_catch_up(
    tracker, workspace, marketer, api, process, settings, monkeypatch
):
    """Another process saved the segment while this worker had the workspace's segments cached:
    an event it processes after the rebuild's first pass went by misses the segment; the second
    pass, once every cache has expired, brings that contact in."""
    settings.JOURNEYS_SEGMENT_CACHE_SECONDS = 30
    tracker.post("identify", {"userId": "u1", "traits": {"plan": "free"}})
    process()
    segments.dynamic_segments(workspace.pk)  # this worker's copy: no segment yet
    segment = Segment.objects.create(workspace=workspace, name="Pro", rule=PRO)  # saved by another process

    def meanwhile(seconds):  # while the rebuild waits for the caches to expire
        assert seconds > 0
        tracker.post("identify", {"userId": "u1", "traits": {"plan": "pro"}})
        process()
        assert members(segment) == set()  # the stale copy did not have the segment

    monkeypatch.setattr(segments, "_wait_for_caches", meanwhile)
    assert segments.rebuild(segment, clock.now()) == {"entered": 1, "left": 0}
    assert members(segment) == {"u1"}


def test_a_deleted_segment_cached_by_a_worker_takes_no_member(tracker, workspace, marketer, api, process):
    segment = make_segment(api, marketer, rule=PRO)
    segments.dynamic_segments(workspace.pk)
    Segment.objects.filter(pk=segment.pk).delete()  # deleted "elsewhere": this process's copy is stale
    tracker.post("identify", {"userId": "u1", "traits": {"plan": "pro"}})
    process()
    assert Contact.objects.filter(user_id="u1").exists()
    assert not SegmentMembership.objects.filter(contact__user_id="u1").exists()
