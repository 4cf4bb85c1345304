"""Each edit re-renders every subject's variant; rapid edits coalesce; a broken template gets a
located error and the preview recovers after the fix."""

import threading

import pytest
from channels.db import database_sync_to_async

from editor import variants
from editor.preview import text_patch

from .conftest import REFERENCE_MJML, communicator, expand, make_template, receive_until

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]

# The reference template with a fallback for an empty cart.
FALLBACK = REFERENCE_MJML.replace(
    "<mj-raw>{% for item in cart.items %}</mj-raw>",
    "<mj-raw>{% if cart.items.size == 0 %}</mj-raw><mj-section><mj-column><mj-text>"
    "Your cart is empty: discover this week's favourites.</mj-text></mj-column></mj-section>"
    "<mj-raw>{% endif %}</mj-raw>\n<mj-raw>{% for item in cart.items %}</mj-raw>",
)
BROKEN = FALLBACK.replace(
    '<mj-raw>{% endfor %}</mj-raw>\n    <mj-section background-color="#ffffff">',
    '<mj-raw></mj-raw>\n    <mj-section background-color="#ffffff">',
    1,
)


async def open_scratch(user, personas):
    comm = await communicator(user)
    connected, _ = await comm.connect()
    assert connected
    await comm.receive_json_from()
    await comm.send_json_to({"type": "open", "scratch": True})
    await receive_until(comm, "opened")
    await comm.send_json_to({"type": "subjects", "subjects": [{"persona": p.id} for p in personas]})
    await receive_until(comm, "rendered")  # the starter draft, for the chosen subjects
    return comm


def variants_of(messages):
    return {m["subject_key"]: m for m in messages if m["type"] == "variant"}


async def test_each_persona_gets_its_own_variant(workspace, marketer, personas):
    german, price_drop, empty = personas
    comm = await open_scratch(marketer, personas)
    await comm.send_json_to(
        {"type": "edit", "seq": 1, "mjml": FALLBACK, "subject": "{{ contact.first_name }}, your cart"}
    )
    messages = await receive_until(comm, "rendered")
    done = messages[-1]
    assert done["ok"] is True and done["seq"] == 1 and done["count"] == 3
    shown = variants_of(messages)

    de = shown[f"persona:{german.id}"]
    assert "Kostenloser Versand nach Deutschland" in de["html"]
    assert de["subject"] == "Jonas, your cart"
    assert de["preheader"] == "1 items are still in your cart"
    assert "Kostenloser Versand" in de["text"]

    drop = shown[f"persona:{price_drop.id}"]
    assert "Kostenloser Versand" not in drop["html"]
    assert "the price dropped!" in drop["html"]
    # The old and the new price (the catalog's currency, in the persona's en_GB locale).
    assert '<span class="was" style="text-decoration: line-through;color: #999999;">US$49.99</span>' in drop["html"]
    assert "US$39.99</span> — the price dropped!" in drop["html"]
    assert "Pick it up today at our London store." in drop["html"]

    none = shown[f"persona:{empty.id}"]
    assert "Your cart is empty" in none["html"]
    assert "the price dropped" not in none["html"]
    assert any(w["kind"] == "undefined" and "contact.first_name" in w["message"] for w in none["warnings"])
    await comm.disconnect()


async def test_a_broken_template_gets_a_located_error_and_the_fix_recovers_the_preview(workspace, marketer, personas):
    comm = await open_scratch(marketer, personas)
    await comm.send_json_to({"type": "edit", "seq": 1, "mjml": BROKEN, "subject": "Your cart"})
    messages = await receive_until(comm, "rendered")
    assert [m["type"] for m in messages] == ["rendered"]  # no variant of a broken template
    broken = messages[-1]
    assert broken["ok"] is False and broken["seq"] == 1
    problem = broken["problems"][0]
    assert problem["kind"] == "syntax" and problem["part"] == "mjml"
    line = BROKEN.splitlines()[problem["line"] - 1]
    assert line[problem["column"] - 1 :].startswith("{% for item in cart.items %}")

    await comm.send_json_to({"type": "edit", "seq": 2, "mjml": FALLBACK, "subject": "Your cart"})
    messages = await receive_until(comm, "rendered")
    assert messages[-1]["ok"] is True and messages[-1]["seq"] == 2
    assert len(variants_of(messages)) == 3
    assert all(v["seq"] == 2 and v["html"] for v in variants_of(messages).values())
    await comm.disconnect()


async def test_rapid_edits_coalesce_and_only_the_newest_is_shown(workspace, marketer, personas, monkeypatch):
    # Hold the first compile until every edit has reached the consumer, as when a marketer types
    # faster than the server renders.
    gate = threading.Event()
    original = variants.compile_draft

    def held_compile(draft, blocks=None):
        gate.wait(timeout=10)
        return original(draft, blocks)

    comm = await open_scratch(marketer, personas)
    monkeypatch.setattr(variants, "compile_draft", held_compile)
    for seq in range(1, 11):
        await comm.send_json_to({"type": "edit", "seq": seq, "mjml": FALLBACK, "subject": f"Version {seq}"})
    await comm.send_json_to({"type": "ping", "at": "after-edits"})
    pong = await receive_until(comm, "pong")
    assert [m["type"] for m in pong] == ["pong"]  # nothing rendered while the edits arrived
    gate.set()

    messages = await receive_until(comm, "rendered")
    assert messages[-1]["seq"] == 10 and messages[-1]["ok"] is True
    sent = [m for m in messages if m["type"] == "variant"]
    assert len(sent) == 3  # one render, for the newest edit only
    assert {m["seq"] for m in sent} == {10}
    assert {m["subject"] for m in sent} == {"Version 10"}
    assert await comm.receive_nothing(timeout=0.5)  # and nothing stale after it
    await comm.disconnect()


async def test_an_edit_overtaken_on_the_way_is_ignored(workspace, marketer, personas):
    comm = await open_scratch(marketer, personas)
    await comm.send_json_to({"type": "edit", "seq": 5, "mjml": FALLBACK, "subject": "Newer"})
    first = await receive_until(comm, "rendered")
    await comm.send_json_to({"type": "edit", "seq": 4, "mjml": FALLBACK, "subject": "Older"})
    assert await comm.receive_nothing(timeout=0.5)
    assert {m["subject"] for m in first if m["type"] == "variant"} == {"Newer"}
    await comm.disconnect()


async def test_generations_only_grow_across_renders(workspace, marketer, personas):
    comm = await open_scratch(marketer, personas)
    seen = []
    for seq in range(1, 6):
        await comm.send_json_to({"type": "edit", "seq": seq, "mjml": FALLBACK, "subject": f"S{seq}"})
    while True:
        message = await comm.receive_json_from(timeout=10)
        if message["type"] in ("variant", "rendered"):
            seen.append(message)
        if message["type"] == "rendered" and message["seq"] == 5:
            break
    generations = [m["generation"] for m in seen]
    assert generations == sorted(generations)  # never an older result after a newer one
    assert [m["subject"] for m in seen if m["type"] == "variant"][-3:] == ["S5"] * 3
    await comm.disconnect()


async def test_opening_a_saved_template_renders_it_for_the_subjects(workspace, qa, personas):
    template = await database_sync_to_async(make_template)(
        workspace, FALLBACK, subject="Hi {{ contact.first_name | default: 'there' }}"
    )
    comm = await communicator(qa)
    await comm.connect()
    await comm.receive_json_from()
    await comm.send_json_to({"type": "subjects", "subjects": [{"persona": personas[2].id}]})
    await receive_until(comm, "subjects")
    await comm.send_json_to({"type": "open", "template": template.id})
    messages = await receive_until(comm, "rendered")
    opened = next(m for m in messages if m["type"] == "opened")
    assert opened["draft"]["mjml"] == FALLBACK
    (variant,) = variants_of(messages).values()
    assert variant["subject"] == "Hi there"
    assert "Your cart is empty" in variant["html"]
    await comm.disconnect()


async def test_a_blank_subject_shows_how_the_defaults_read(workspace, marketer):
    comm = await communicator(marketer)
    await comm.connect()
    await comm.receive_json_from()
    await comm.send_json_to({"type": "open", "scratch": True})
    await comm.send_json_to({"type": "subjects", "subjects": [{"blank": True}]})
    await receive_until(comm, "rendered")
    await comm.send_json_to(
        {"type": "edit", "seq": 1, "mjml": FALLBACK, "subject": "Hi {{ contact.first_name | default: 'friend' }}"}
    )
    messages = await receive_until(comm, "rendered", where=lambda m: m["seq"] == 1)
    (variant,) = variants_of(messages).values()
    assert variant["subject_key"] == "blank" and variant["subject"] == "Hi friend"
    await comm.disconnect()


BLOCKS_MJML = """<mjml><mj-body><mj-section><mj-column>
<mj-text>Hello</mj-text>
{% include "german-shipping" %}
{% include "loyal" %}
</mj-column></mj-section></mj-body></mjml>"""


def make_blocks(workspace):
    from delivery.actions import save_block

    save_block(
        workspace,
        None,
        name="german-shipping",
        source="<mj-text>Versand nach Deutschland gratis.</mj-text>",
        condition={"field": "contact.country", "op": "eq", "value": "DE"},
    )
    save_block(
        workspace,
        None,
        name="loyal",
        source="<mj-text>Thank you for ordering again.</mj-text>",
        condition={"performed": "Order Completed", "within": "P30D"},
    )


async def test_each_variant_says_which_adaptive_blocks_it_shows(workspace, marketer, personas):
    from editor.models import Persona

    german, price_drop, _ = personas
    await database_sync_to_async(make_blocks)(workspace)
    await database_sync_to_async(Persona.objects.filter(pk=price_drop.pk).update)(
        recent_events=[{"name": "Order Completed", "properties": {"total": 80}, "ago": "P3D"}]
    )
    comm = await open_scratch(marketer, [german, price_drop])
    await comm.send_json_to({"type": "edit", "seq": 1, "mjml": BLOCKS_MJML, "subject": "Blocks"})
    shown = variants_of(await receive_until(comm, "rendered", where=lambda m: m["seq"] == 1))
    de, loyal = shown[f"persona:{german.id}"], shown[f"persona:{price_drop.id}"]
    assert de["blocks"] == [
        {"name": "german-shipping", "shown": True, "adaptive": True},
        {"name": "loyal", "shown": False, "adaptive": True},
    ]
    assert "Versand nach Deutschland gratis." in de["html"] and "Thank you for ordering" not in de["html"]
    # The persona's recent order (three days ago) is its event history for "performed".
    assert loyal["blocks"] == [
        {"name": "german-shipping", "shown": False, "adaptive": True},
        {"name": "loyal", "shown": True, "adaptive": True},
    ]
    assert "Thank you for ordering again." in loyal["html"]
    await comm.disconnect()


def test_a_text_patch_counts_utf16_code_units_as_the_browser_does():
    # the same change as frontend/src/preview/patch.test.ts applies: the emoji counts two
    assert text_patch("<p>Hello 👋 there</p>", "<p>Hello 👋 you</p>") == [12, 17, "you"]
    assert text_patch("same", "same") == [4, 4, ""]
    assert text_patch("", "new") == [0, 0, "new"]
    assert text_patch("aXa", "aa") == [1, 2, ""]  # prefix and suffix never overlap


async def test_after_the_first_variant_a_subject_gets_only_what_changed(workspace, marketer, personas):
    comm = await open_scratch(marketer, personas)
    await comm.send_json_to({"type": "edit", "seq": 1, "mjml": FALLBACK, "subject": "Your cart"})
    await receive_until(comm, "rendered", where=lambda m: m["seq"] == 1)
    typed = FALLBACK.replace("Your cart is empty", "Your cart is emptyy")
    await comm.send_json_to({"type": "edit", "seq": 2, "mjml": typed, "subject": "Your cart"})
    raw = []
    while not raw or raw[-1]["type"] != "rendered":
        raw.append(await comm.receive_json_from(timeout=10))
    patches = [dict(m) for m in raw if m["type"] == "variant"]
    assert len(patches) == 3 and all("html" not in m and "html_patch" in m for m in patches)
    # a keystroke's worth goes over the socket, not the email
    assert all(len(m["html_patch"][2]) < 100 and len(m["text_patch"][2]) < 100 for m in patches)
    expanded = variants_of([expand(comm, m) for m in raw])
    await comm.disconnect()

    # what the patches make is what a new socket gets whole (the draft typed before any subject)
    fresh = await communicator(marketer)
    assert (await fresh.connect())[0]
    await fresh.receive_json_from()
    await fresh.send_json_to({"type": "open", "scratch": True})
    await receive_until(fresh, "opened")
    await fresh.send_json_to({"type": "edit", "seq": 1, "mjml": typed, "subject": "Your cart"})
    await fresh.send_json_to({"type": "subjects", "subjects": [{"persona": p.id} for p in personas]})
    first = await receive_until(fresh, "rendered", where=lambda m: m.get("count") == 3)
    assert all("html" in m and "html_patch" not in m for m in first if m["type"] == "variant")
    whole = variants_of(first)
    assert len(whole) == 3
    for key, variant in whole.items():
        assert expanded[key]["html"] == variant["html"] and expanded[key]["text"] == variant["text"]
    assert "Your cart is emptyy" in whole[f"persona:{personas[2].id}"]["html"]

    # a browser that lost track asks again: the variants come whole
    await fresh.send_json_to({"type": "resync"})
    again = await receive_until(fresh, "rendered")
    assert [m for m in again if m["type"] == "variant"] and all(
        "html" in m and "html_patch" not in m for m in again if m["type"] == "variant"
    )
    await fresh.disconnect()
