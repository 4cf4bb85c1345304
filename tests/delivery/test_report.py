"""What a journey earned: a journey run through the API (events over /v1/, emails received by a real
SMTP server, a tracked click, an order with revenue), and its report: conversion and revenue credited
to the email node that earned them, opens and clicks, per day and per version, kept by the workers'
tallies (never a scan of the step log or the outbox)."""

import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest

from delivery import actions
from delivery.models import Message
from journeys import clock, report, stats, worker
from journeys.models import Conversion, Journey, ReportTally, ReportTotal

from .conftest import make_template, simple_mjml

SHOP_LINK = "https://shop.example/sale"


def journey_definition(**extra):
    return {
        "trigger": {"type": "event", "event": "Signed Up"},
        "entry": {"re_entry": "after_exit"},
        "exit_on": [{"event": "Order Completed", "as_conversion": True}],
        "nodes": [
            {"id": "welcome", "type": "email", "config": {"template": "welcome"}},
            {"id": "pause", "type": "delay", "config": {"mode": "duration", "duration": "P2D"}},
            {"id": "nudge", "type": "email", "config": {"template": "welcome"}},
        ],
        "edges": [
            {"from": "trigger", "to": "welcome"},
            {"from": "welcome", "to": "pause"},
            {"from": "pause", "to": "nudge"},
        ],
        **extra,
    }


@pytest.fixture
def settings_off(settings):
    settings.JOURNEYS_KICKS = "off"  # this test runs the workers' steps itself, in order
    return settings


@pytest.fixture
def shop(workspace, marketer, api, tracker, process, smtp, site, settings_off):
    """A live journey made and published through the API, and what drives it."""
    make_template(workspace, slug="welcome", mjml=simple_mjml(f'Hi! <a href="{SHOP_LINK}">Our sale</a>'))
    client = api(marketer)
    created = client.post(
        "/api/journeys", {"name": "Welcome", "definition": journey_definition()}, format="json"
    ).json()
    published = client.post(f"/api/journeys/{created['id']}/publish", {"revision": 1}, format="json")
    assert published.status_code == 200, published.content

    class Shop:
        journey = Journey.objects.get(pk=created["id"])
        url = f"/api/journeys/{created['id']}/report"

        @staticmethod
        def event(call, body):
            assert tracker.post(call, body).status_code == 200
            process()

        @staticmethod
        def work():
            worker.advance_due()
            actions.sweep()

    return Shop


def tracked_link(html):
    return unescape(re.search(r'href="(https://wayline\.example/t/c/[^"]+)"', html).group(1))


def visit(client, url):
    path = url.removeprefix("https://wayline.example")
    return client.get(path)


def test_an_order_after_a_click_is_credited_to_the_email_clicked(shop, marketer, api, client, smtp):
    shop.event("identify", {"userId": "u1", "traits": {"email": "ada@example.com"}})
    shop.event("track", {"userId": "u1", "event": "Signed Up"})
    shop.work()
    assert len(smtp.messages) == 1  # received by the SMTP server
    message = Message.objects.get(node_id="welcome")
    assert message.status == Message.Status.SENT
    assert visit(client, tracked_link(message.html)).status_code == 302
    shop.event("track", {"userId": "u1", "event": "Order Completed", "properties": {"revenue": 120, "currency": "usd"}})

    figures = api(marketer).get(shop.url).json()
    assert figures["totals"] == {
        "entries": 1,
        "conversions": 1,
        "conversion_rate": 1.0,
        "revenue": [{"currency": "USD", "amount": "120.00"}],
    }
    nodes = {node["id"]: node for node in figures["nodes"]}
    welcome = nodes["welcome"]
    assert (welcome["conversions"], welcome["revenue"]) == (1, [{"currency": "USD", "amount": "120.00"}])
    assert nodes["nudge"]["conversions"] == 0
    assert welcome["email"]["sent"] == 1 and welcome["email"]["delivered"] == 1
    assert welcome["email"]["clicked_unique"] == 1 and welcome["email"]["links"] == [{"url": SHOP_LINK, "clicks": 1}]
    assert nodes["pause"]["exited_by_goal"] == 1  # the order ended the journey where the contact waited
    conversion = Conversion.objects.get()
    assert (conversion.node, conversion.touch, conversion.message_id) == ("welcome", "click", message.pk)
    live = stats.node_counts(shop.journey)  # the canvas's live counts
    assert live["trigger"] == {"entered": 1, "waiting": 0, "left": 1}  # the journey's entries
    assert live["welcome"]["conversions"] == 1
    assert live["welcome"]["revenue"] == [{"currency": "USD", "amount": "120.00"}]
    assert (live["welcome"]["sent"], live["welcome"]["clicked"]) == (1, 1) and "conversions" not in live["nudge"]
    assert (
        figures["attribution"]["event"] == "Order Completed"
        and "clicked within 5 days" in figures["attribution"]["rule"]
    )
    today = [day for day in figures["daily"] if day["conversions"]]
    assert len(today) == 1 and today[0]["entries"] == 1
    assert figures["by_version"] == [
        {
            "version": 1,
            "entries": 1,
            "conversions": 1,
            "conversion_rate": 1.0,
            "revenue": [{"currency": "USD", "amount": "120.00"}],
        }
    ]


def test_opens_are_counted_once_and_machine_opens_apart(shop, marketer, api, client):
    shop.event("identify", {"userId": "u1", "traits": {"email": "ada@example.com"}})
    shop.event("track", {"userId": "u1", "event": "Signed Up"})
    shop.work()
    message = Message.objects.get(node_id="welcome")
    pixel = f"/t/o/{message.token}.gif"
    client.get(pixel, HTTP_USER_AGENT="Mozilla/5.0")  # Apple Mail Privacy Protection's prefetch
    client.get(pixel, HTTP_USER_AGENT="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148")
    clock_later = clock.now() + timedelta(minutes=5)
    with clock.frozen(clock_later):
        client.get(pixel, HTTP_USER_AGENT="Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15")
    email = {n["id"]: n for n in api(marketer).get(shop.url).json()["nodes"]}["welcome"]["email"]
    assert (email["opened_unique"], email["opened_total"], email["machine_opens"]) == (1, 2, 1)
    assert email["open_rate"] == 1.0


def test_the_windows_decide_the_credit(shop, marketer, api):
    """Sent, not opened: an order within a day is the email's; two days later, the journey's."""
    for user in ("u1", "u2"):
        shop.event("identify", {"userId": user, "traits": {"email": f"{user}@example.com"}})
        shop.event("track", {"userId": user, "event": "Signed Up"})
    shop.work()
    shop.event("track", {"userId": "u1", "event": "Order Completed", "properties": {"total": "40.50"}})
    with clock.frozen(clock.now() + timedelta(days=1, hours=12)):
        shop.event("track", {"userId": "u2", "event": "Order Completed", "properties": {"value": 10}})
    credited = dict(Conversion.objects.values_list("contact__user_id", "node"))
    assert credited == {"u1": "welcome", "u2": ""}
    figures = api(marketer).get(shop.url, {"to": (clock.now() + timedelta(days=2)).date().isoformat()}).json()
    assert figures["totals"]["conversions"] == 2
    assert figures["totals"]["revenue"] == [{"currency": "", "amount": "50.50"}]
    assert {n["id"]: n["conversions"] for n in figures["nodes"]}["welcome"] == 1


def test_a_conversion_event_of_its_own_counts_after_the_journey_ended(workspace, shop, marketer, api):
    """A journey whose last email ends it: the order two days after the click still counts."""
    shop.event("identify", {"userId": "u1", "traits": {"email": "ada@example.com"}})
    client = api(marketer)
    definition = journey_definition(
        conversion={"event": "Subscribed", "windows": {"click": "P7D", "open": "P7D", "send": "PT1H"}}
    )
    definition["nodes"], definition["edges"] = definition["nodes"][:1], definition["edges"][:1]
    definition["trigger"] = {"type": "event", "event": "Joined"}
    created = client.post("/api/journeys", {"name": "Short", "definition": definition}, format="json").json()
    assert client.post(f"/api/journeys/{created['id']}/publish", {"revision": 1}, format="json").status_code == 200
    shop.event("track", {"userId": "u1", "event": "Joined"})
    shop.work()
    message = Message.objects.get(journey_id=created["id"])
    actions.record_click(message, SHOP_LINK)
    with clock.frozen(clock.now() + timedelta(days=6)):
        shop.event("track", {"userId": "u1", "event": "Subscribed", "properties": {"value": 9.99, "currency": "EUR"}})
    later = (clock.now() + timedelta(days=7)).date().isoformat()
    figures = client.get(f"/api/journeys/{created['id']}/report", {"to": later}).json()
    assert figures["attribution"]["source"] == "conversion"
    assert figures["totals"]["revenue"] == [{"currency": "EUR", "amount": "9.99"}]
    assert {n["id"]: n["conversions"] for n in figures["nodes"]} == {"welcome": 1}
    assert Conversion.objects.get(journey_id=created["id"]).touch == "click"


def test_folding_keeps_the_figures_and_they_match_the_step_log(shop, marketer, api):
    for user in ("u1", "u2", "u3"):
        shop.event("identify", {"userId": user, "traits": {"email": f"{user}@example.com"}})
        shop.event("track", {"userId": user, "event": "Signed Up"})
    shop.work()
    with clock.frozen(clock.now() + timedelta(days=2, minutes=1)):
        shop.work()
    client = api(marketer)
    query = {"to": (clock.now() + timedelta(days=3)).date().isoformat()}
    before = client.get(shop.url, query).json()
    assert ReportTally.objects.exists()
    report.fold_all()
    assert not ReportTally.objects.exists() and ReportTotal.objects.exists()
    after = client.get(shop.url, query).json()
    assert after == before
    counted = stats.node_counts(shop.journey)  # the step log, read the slow way
    for node in after["nodes"]:
        assert node["entered"] == counted[node["id"]]["entered"], node["id"]
    nudge = {n["id"]: n for n in after["nodes"]}["nudge"]
    assert nudge["email"]["sent"] == 3 and nudge["entered"] == 3
    assert [step["count"] for step in after["funnel"]] == [3, 3, 3, 3]


def test_the_report_as_csv(shop, marketer, api):
    shop.event("identify", {"userId": "u1", "traits": {"email": "ada@example.com"}})
    shop.event("track", {"userId": "u1", "event": "Signed Up"})
    shop.work()
    response = api(marketer).get(shop.url, {"download": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode()
    assert text.startswith("Journey,Welcome,From,")
    assert "\nwelcome,email,1,0,0,0,,1,1," in text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-02-10", "to": "2026-02-01"}, "from"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "to"),
        ({"from": "yesterday"}, "from"),
        ({"version": "7"}, "version"),
        ({"version": "x"}, "version"),
        ({"download": "pdf"}, "download"),
    ],
)
def test_bad_parameters_get_400_naming_them(shop, marketer, api, query, field):
    response = api(marketer).get(shop.url, query)
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"], response.json()


def test_another_workspace_sees_no_report(shop, outsider, api):
    assert api(outsider).get(shop.url).status_code == 404


def test_attribution_windows_are_validated_on_the_trigger(workspace, marketer, api, settings_off):
    make_template(workspace, slug="welcome", mjml=simple_mjml("Hi"))
    client = api(marketer)
    bad = journey_definition(conversion={"event": "Order Completed", "windows": {"click": "PT0S", "send": "P400D"}})
    created = client.post("/api/journeys", {"name": "W", "definition": bad}, format="json").json()
    problems = {(p["node"], p["field"]): p["message"] for p in created["problems"]}
    assert problems[("trigger", "conversion.windows.click")] == "The duration must be longer than zero."
    assert problems[("trigger", "conversion.windows.send")] == "An attribution window is at most a year."
    refused = client.post(f"/api/journeys/{created['id']}/publish", {"revision": 1}, format="json")
    assert refused.status_code == 400


def normalized(rows):
    return sorted((v, d, node, metric, key, n, Decimal(a or 0)) for v, d, node, metric, key, n, a in rows if n)


def test_the_workers_counts_equal_a_recount_of_what_is_stored(shop, marketer, api, client):
    """The counts kept as things happen are what a scan of the step log, the outbox and the
    conversions finds (recount, also the rebuild for data from before the counts)."""
    for user in ("u1", "u2", "u3"):
        shop.event("identify", {"userId": user, "traits": {"email": f"{user}@example.com"}})
        shop.event("track", {"userId": user, "event": "Signed Up"})
    shop.event("track", {"userId": "u1", "event": "Signed Up"})  # already in: a skip
    shop.work()
    first = Message.objects.filter(node_id="welcome").order_by("id")
    client.get(f"/t/o/{first[0].token}.gif", HTTP_USER_AGENT="Mozilla/5.0")
    client.get(f"/t/o/{first[1].token}.gif", HTTP_USER_AGENT="Thunderbird")
    visit(client, tracked_link(first[1].html))
    visit(client, tracked_link(first[1].html))
    actions.unsubscribe(first[2])
    shop.event("track", {"userId": "u2", "event": "Order Completed", "properties": {"revenue": "19.90"}})
    with clock.frozen(clock.now() + timedelta(days=2, minutes=1)):
        shop.work()
    report.fold()
    kept = normalized(report.counts(shop.journey, None, None))
    recounted = normalized(report.recount(shop.journey))
    assert [r for r in recounted if r not in kept] == [] and [r for r in kept if r not in recounted] == []
    metrics = {row[3] for row in kept}
    assert {"entry", "entered", "left", "skipped", "sent", "opens", "machine_opens", "opened", "clicked"} <= metrics
    assert {"clicks", "unsubscribed", "conversion"} <= metrics
    before = api(marketer).get(shop.url, {"to": (clock.now() + timedelta(days=3)).date().isoformat()}).json()
    report.rebuild(shop.journey)
    assert normalized(report.counts(shop.journey, None, None)) == kept
    after = api(marketer).get(shop.url, {"to": (clock.now() + timedelta(days=3)).date().isoformat()}).json()
    assert after == before
