"""Who may open a preview socket and what each message may do."""

import pytest
from channels.db import database_sync_to_async

from accounts.models import Membership, Role
from tests.factories import make_member

from .conftest import REFERENCE_MJML, communicator, make_template, receive_until

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


async def test_it_refuses_an_anonymous_visitor():
    comm = await communicator(user=None)
    connected, code = await comm.connect()
    assert not connected
    assert code == 4401
    await comm.disconnect()


async def test_it_refuses_a_page_of_another_origin(workspace, qa):
    comm = await communicator(qa, origin="https://evil.example")
    connected, _ = await comm.connect()
    assert not connected
    await comm.disconnect()


async def test_it_refuses_a_deactivated_member(workspace, qa):
    await database_sync_to_async(Membership.objects.filter(user=qa).update)(is_active=False)
    comm = await communicator(qa)
    connected, code = await comm.connect()
    assert not connected
    assert code == 4403
    await comm.disconnect()


async def test_a_qa_member_previews_the_saved_template_but_cannot_send_drafts(workspace, qa, personas):
    template = await database_sync_to_async(make_template)(workspace, REFERENCE_MJML)
    comm = await communicator(qa)
    connected, _ = await comm.connect()
    assert connected
    ready = await comm.receive_json_from()
    assert ready == {"type": "ready", "member": ready["member"], "can_edit": False}

    await comm.send_json_to({"type": "open", "template": template.id})
    await receive_until(comm, "opened")
    await comm.send_json_to({"type": "subjects", "subjects": [{"persona": p.id} for p in personas]})
    messages = await receive_until(comm, "rendered")
    assert len([m for m in messages if m["type"] == "variant"]) == 3

    await comm.send_json_to({"type": "edit", "seq": 1, "mjml": "<mjml></mjml>", "subject": "x"})
    error = await comm.receive_json_from()
    assert error["type"] == "error" and error["code"] == "permission_denied" and error["request"] == "edit"
    await comm.send_json_to({"type": "open", "scratch": True})
    error = await comm.receive_json_from()
    assert error["code"] == "permission_denied"
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_another_workspace_finds_nothing(workspace, personas, outsider, other_workspace):
    template = await database_sync_to_async(make_template)(workspace, REFERENCE_MJML)
    comm = await communicator(outsider)
    connected, _ = await comm.connect()
    assert connected
    await comm.receive_json_from()

    await comm.send_json_to({"type": "open", "template": template.id})
    error = await comm.receive_json_from()
    assert error["type"] == "error" and error["code"] == "not_found"

    await comm.send_json_to({"type": "watch", "kind": "template", "id": template.id})
    error = await comm.receive_json_from()
    assert error["code"] == "not_found"

    # Another workspace's personas are simply not there.
    await comm.send_json_to({"type": "open", "scratch": True})
    await receive_until(comm, "opened")
    await comm.send_json_to({"type": "subjects", "subjects": [{"persona": p.id} for p in personas]})
    subjects = await comm.receive_json_from()
    assert subjects == {"type": "subjects", "subjects": []}
    await comm.disconnect()


async def test_a_member_deactivated_mid_session_is_closed_on_the_next_message(workspace, admin):
    marketer = await database_sync_to_async(make_member)(workspace, Role.MARKETER)
    comm = await communicator(marketer)
    connected, _ = await comm.connect()
    assert connected
    await comm.receive_json_from()
    await comm.send_json_to({"type": "ping", "at": 1})
    assert (await comm.receive_json_from())["type"] == "pong"

    await database_sync_to_async(Membership.objects.filter(user=marketer).update)(is_active=False)
    await comm.send_json_to({"type": "ping", "at": 2})
    error = await comm.receive_json_from()
    assert error["code"] == "permission_denied"
    closed = await comm.receive_output()
    assert closed == {"type": "websocket.close", "code": 4403}
    await comm.disconnect()


async def test_it_answers_garbage_with_an_error(workspace, marketer):
    comm = await communicator(marketer)
    await comm.connect()
    await comm.receive_json_from()
    await comm.send_to(text_data="not json")
    assert (await comm.receive_json_from())["code"] == "bad_message"
    await comm.send_json_to({"type": "launch-missiles"})
    assert (await comm.receive_json_from())["code"] == "unknown_type"
    await comm.send_json_to({"type": "edit", "seq": 1, "mjml": "<mjml></mjml>"})
    assert (await comm.receive_json_from())["code"] == "invalid"  # nothing opened yet
    await comm.disconnect()


async def test_an_idle_socket_stays_open_longer_than_the_layers_blocking_read(workspace, marketer):
    """channels-redis blocks 5 s per read; redis-py 8 would time out at 5 s too (settings.py)."""
    import asyncio

    comm = await communicator(marketer)
    await comm.connect()
    await comm.receive_json_from()
    await asyncio.sleep(6.5)  # the consumer waits on its layer channel all this time
    await comm.send_json_to({"type": "ping", "at": "later"})
    assert await comm.receive_json_from(timeout=5) == {"type": "pong", "at": "later"}
    await comm.disconnect()
