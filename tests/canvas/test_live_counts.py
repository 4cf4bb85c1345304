"""The canvas's live counts socket: who may watch, the snapshot on connect, and new counts pushed
when the engine moves contacts, without the browser asking."""

import pytest
from channels.db import database_sync_to_async

from accounts.models import Membership
from editor.counts import CountsConsumer

from .conftest import counts_socket, make_contact, publish, run_worker, track

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


async def closed_with(comm):
    """The close code of a socket the server accepted and then closed."""
    connected, _ = await comm.connect()
    assert connected
    message = await comm.receive_output(timeout=5)
    assert message["type"] == "websocket.close"
    await comm.disconnect()  # a refused socket left open hangs on the Redis layer at the loop's end
    return message["code"]


async def test_an_anonymous_visitor_is_turned_away(workspace):
    journey = await database_sync_to_async(publish)(workspace)
    assert await closed_with(await counts_socket(journey.id)) == 4401


async def test_another_workspace_finds_no_such_journey(workspace, outsider):
    journey = await database_sync_to_async(publish)(workspace)
    assert await closed_with(await counts_socket(journey.id, outsider)) == 4404


async def test_a_page_of_another_origin_cannot_connect(workspace, marketer):
    journey = await database_sync_to_async(publish)(workspace)
    comm = await counts_socket(journey.id, marketer, origin="https://evil.example")
    connected, _ = await comm.connect()
    assert not connected
    await comm.disconnect()


async def test_a_qa_member_gets_the_counts_on_connect(workspace, qa):
    journey = await database_sync_to_async(publish)(workspace)

    def two_shoppers_waiting():
        for _ in range(2):
            track(make_contact(workspace), "Checkout Started", {"cart_id": "c1"})
        run_worker()

    await database_sync_to_async(two_shoppers_waiting)()
    comm = await counts_socket(journey.id, qa)
    connected, _ = await comm.connect()
    assert connected
    snapshot = await comm.receive_json_from(timeout=5)
    assert snapshot["type"] == "counts" and snapshot["journey"] == journey.id
    assert snapshot["nodes"]["wait1"] == {"entered": 2, "waiting": 2, "left": 0}
    await comm.disconnect()


async def test_counts_change_when_the_engine_moves_contacts(workspace, marketer, monkeypatch):
    # No polling: what arrives was pushed because the engine reported progress.
    monkeypatch.setattr(CountsConsumer, "poll_seconds", 3600)
    journey = await database_sync_to_async(publish)(workspace)
    comm = await counts_socket(journey.id, marketer)
    connected, _ = await comm.connect()
    assert connected
    assert (await comm.receive_json_from(timeout=5))["nodes"] == {}

    shopper = await database_sync_to_async(make_contact)(workspace)

    def checkout():
        track(shopper, "Checkout Started", {"cart_id": "c9"})
        run_worker()

    await database_sync_to_async(checkout)()
    update = await comm.receive_json_from(timeout=5)
    assert update["nodes"]["wait1"] == {"entered": 1, "waiting": 1, "left": 0}

    await database_sync_to_async(track)(shopper, "Order Completed", {"cart_id": "c9", "total": 40})
    update = await comm.receive_json_from(timeout=5)
    assert update["nodes"]["wait1"] == {"entered": 1, "waiting": 0, "left": 1}
    await comm.disconnect()


async def test_many_steps_at_once_make_few_snapshots(workspace, marketer, monkeypatch):
    monkeypatch.setattr(CountsConsumer, "poll_seconds", 3600)
    monkeypatch.setattr(CountsConsumer, "min_interval", 1.0)
    journey = await database_sync_to_async(publish)(workspace)
    comm = await counts_socket(journey.id, marketer)
    await comm.connect()
    await comm.receive_json_from(timeout=5)

    def twenty_checkouts_one_by_one():
        for n in range(20):
            track(make_contact(workspace), "Checkout Started", {"cart_id": f"c{n}"})
            run_worker()

    await database_sync_to_async(twenty_checkouts_one_by_one)()
    snapshots = []
    while not snapshots or snapshots[-1]["nodes"]["wait1"]["waiting"] < 20:
        snapshots.append(await comm.receive_json_from(timeout=5))
    # Twenty worker runs, each reporting progress; the socket coalesces them.
    assert len(snapshots) < 20
    assert snapshots[-1]["nodes"]["wait1"] == {"entered": 20, "waiting": 20, "left": 0}
    await comm.disconnect()


async def test_a_member_deactivated_meanwhile_is_disconnected(workspace, marketer, monkeypatch):
    monkeypatch.setattr(CountsConsumer, "poll_seconds", 3600)
    journey = await database_sync_to_async(publish)(workspace)
    comm = await counts_socket(journey.id, marketer)
    await comm.connect()
    await comm.receive_json_from(timeout=5)
    await database_sync_to_async(Membership.objects.filter(user=marketer).update)(is_active=False)
    await comm.send_json_to({"type": "refresh"})
    message = await comm.receive_output(timeout=5)
    assert message == {"type": "websocket.close", "code": 4403}
    await comm.disconnect()
