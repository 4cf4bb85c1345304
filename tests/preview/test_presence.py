"""Two members on the same template or journey see each other, and each gets the other's saved
changes live (read from the database; the layer message is only a notification)."""

import pytest
from channels.db import database_sync_to_async

from delivery.actions import save_template
from journeys.drafts import save_draft

from .conftest import SIMPLE_MJML, communicator, receive_until

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


async def connected(user):
    comm = await communicator(user)
    ok, _ = await comm.connect()
    assert ok
    await comm.receive_json_from()
    return comm


async def test_two_editors_see_each_other_and_the_saved_template(workspace, admin, marketer, personas, cart_journey):
    from delivery.models import Template

    template = await database_sync_to_async(Template.objects.get)(slug="cart-reminder")
    first = await connected(marketer)
    await first.send_json_to({"type": "subjects", "subjects": [{"persona": personas[0].id}]})
    await receive_until(first, "subjects")
    await first.send_json_to({"type": "open", "template": template.id})
    await receive_until(first, "rendered")

    second = await connected(admin)
    await second.send_json_to({"type": "open", "template": template.id})
    presence = await receive_until(second, "presence", where=lambda m: len(m["members"]) == 2)
    emails = {m["email"] for m in presence[-1]["members"]}
    assert emails == {"marketer@acme.test", "admin@acme.test"}
    seen = await receive_until(first, "presence", where=lambda m: len(m["members"]) == 2)
    assert {m["email"] for m in seen[-1]["members"]} == emails

    # The admin saves a new version through the normal save path: the marketer gets it.
    await database_sync_to_async(save_template)(
        workspace, admin, template=template, subject="Fresh subject", mjml=SIMPLE_MJML
    )
    messages = await receive_until(first, "saved")
    saved = messages[-1]
    assert saved["object"] == {"kind": "template", "id": template.id}
    assert saved["draft"]["subject"] == "Fresh subject" and saved["revision"] == 2
    assert saved["by"]["email"] == "admin@acme.test" and saved["mine"] is False
    # Nothing unsaved on the marketer's side: the preview follows the saved draft.
    rendered = await receive_until(first, "rendered")
    variants = [m for m in rendered if m["type"] == "variant"]
    assert variants[-1]["subject"] == "Fresh subject"

    await second.disconnect()
    gone = await receive_until(first, "presence", where=lambda m: len(m["members"]) == 1)
    assert gone[-1]["members"][0]["me"] is True
    await first.disconnect()


async def test_unsaved_edits_are_not_overwritten_by_someone_elses_save(workspace, admin, marketer, personas):
    from delivery.models import Template

    await database_sync_to_async(save_template)(workspace, admin, slug="t", name="T", subject="One", mjml=SIMPLE_MJML)
    template = await database_sync_to_async(Template.objects.get)(slug="t")
    comm = await connected(marketer)
    await comm.send_json_to({"type": "subjects", "subjects": [{"persona": personas[0].id}]})
    await comm.send_json_to({"type": "open", "template": template.id})
    await receive_until(comm, "rendered")
    await comm.send_json_to({"type": "edit", "seq": 1, "mjml": SIMPLE_MJML, "subject": "Mine, unsaved"})
    await receive_until(comm, "rendered", where=lambda m: m["seq"] == 1)

    await database_sync_to_async(save_template)(workspace, admin, template=template, subject="Theirs", mjml=SIMPLE_MJML)
    saved = (await receive_until(comm, "saved"))[-1]
    assert saved["draft"]["subject"] == "Theirs" and saved["mine"] is False
    assert await comm.receive_nothing(timeout=0.5)  # no re-render over the unsaved edit
    await comm.disconnect()


async def test_journey_watchers_hear_of_a_saved_draft(workspace, admin, marketer, qa, cart_journey):
    watcher = await connected(qa)
    await watcher.send_json_to({"type": "watch", "kind": "journey", "id": cart_journey.id})
    await receive_until(watcher, "presence")
    before = cart_journey.draft_revision
    await database_sync_to_async(save_draft)(cart_journey, marketer, revision=before, definition=cart_journey.draft)
    saved = (await receive_until(watcher, "saved"))[-1]
    assert saved["object"] == {"kind": "journey", "id": cart_journey.id}
    assert saved["revision"] == before + 1
    assert saved["by"]["email"] == "marketer@acme.test"
    await watcher.disconnect()
