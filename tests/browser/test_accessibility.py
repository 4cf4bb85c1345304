"""Accessibility in a real browser: axe-core finds no serious or critical violation on the main pages,
each seeded so that it shows content (a journey, templates, contacts, a segment, a broadcast draft,
products, a sent email)."""

from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from delivery import actions as delivery_actions
from editor.models import Persona
from journeys import drafts
from journeys.engine import library
from journeys.models import Broadcast, Segment, SegmentMembership
from tests.delivery.conftest import cart, make_contact, make_products, simple_mjml

# The page in the browser is the same on either database: once, in the first half of .ci/run.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_half]

AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"

# Markup that is not ours and that we cannot change is left out of the check, each with its reason.
# (None today: the pages below are checked whole.)
THIRD_PARTY_EXCLUDED: list[str] = []


@pytest.fixture
def seeded(workspace, admin, settings):
    settings.EMAIL_BACKEND = "delivery.backends.SandboxBackend"
    make_products(workspace)
    template, version = delivery_actions.save_template(
        workspace,
        None,
        slug="cart-reminder",
        name="Cart reminder",
        subject="{{ contact.first_name | default: 'Hi' }}, your cart is waiting",
        mjml=simple_mjml("Hi {{ contact.first_name }}, you left something behind."),
        category="marketing",
    )
    delivery_actions.save_template(
        workspace, None, slug="welcome", name="Welcome", subject="Welcome", mjml=simple_mjml("Welcome aboard.")
    )
    journey = drafts.create_journey(
        workspace,
        admin,
        "Cart abandonment",
        definition=library.definition_of("cart-abandonment"),
        library_key="cart-abandonment",
    )
    contact = make_contact(workspace, cart=cart(("SKU-1001", 1, 39.99, "Trail Running Shoe")))
    make_contact(workspace, "bob@example.com", traits={"first_name": "Bob"})
    segment = Segment.objects.create(workspace=workspace, name="Runners", kind=Segment.Kind.STATIC)
    SegmentMembership.objects.create(workspace=workspace, segment=segment, contact=contact, entered_at=timezone.now())
    Persona.objects.create(
        workspace=workspace, name="Ada in London", email="ada@example.com", city="London", country="GB"
    )
    broadcast = Broadcast.objects.create(
        workspace=workspace, name="Spring sale", segment=segment, template="cart-reminder"
    )
    message = delivery_actions.enqueue_message(workspace, version, idempotency_key="a11y", contact=contact)
    delivery_actions.send_message(message.pk)
    return {
        "journey": journey.id,
        "template": template.id,
        "contact": contact.id,
        "segment": segment.id,
        "broadcast": broadcast.id,
        "message": message.pk,
    }


def open_visual_editor(page):
    page.get_by_role("tab", name="Visual").click()
    canvas = page.frame_locator("iframe.gjs-frame")
    expect(canvas.locator("body [data-gjs-type='mj-body']").first).to_be_attached(timeout=20_000)


def canvas_drawn(page):
    expect(page.get_by_test_id("node-trigger")).to_be_visible()


PAGES = [
    ("journeys", lambda ids: "/journeys"),
    ("journey canvas", lambda ids: f"/journeys/{ids['journey']}", canvas_drawn),
    ("templates", lambda ids: "/templates"),
    ("template editor", lambda ids: f"/templates/{ids['template']}"),
    ("template visual editor", lambda ids: f"/templates/{ids['template']}", open_visual_editor),
    ("contacts", lambda ids: "/contacts"),
    ("contact", lambda ids: f"/contacts/{ids['contact']}"),
    ("segments", lambda ids: "/segments"),
    ("segment", lambda ids: f"/segments/{ids['segment']}"),
    ("broadcasts", lambda ids: "/broadcasts"),
    ("broadcast draft", lambda ids: f"/broadcasts/{ids['broadcast']}"),
    ("catalog", lambda ids: "/catalog"),
    ("outbox", lambda ids: "/outbox"),
    ("outbox message", lambda ids: f"/outbox/{ids['message']}"),
    ("qa", lambda ids: "/qa"),
    ("qa review", lambda ids: f"/qa/journeys/{ids['journey']}"),
    ("qa templates gallery", lambda ids: "/qa/templates"),
    ("members", lambda ids: "/settings/members"),
    ("predictions", lambda ids: "/settings/predictions"),
]


def serious_violations(page):
    # The app's CSP (script-src 'self') refuses an injected <script> tag (page.add_script_tag);
    # Playwright's evaluate runs through DevTools, which the CSP does not govern.
    page.evaluate(AXE.read_text())
    violations = page.evaluate(
        """async (exclude) => {
            const context = exclude.length ? { include: [document], exclude: exclude.map((s) => [s]) } : document;
            const results = await axe.run(context, { resultTypes: ["violations"] });
            return results.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                // each element, with the first line of why it fails ("insufficient color contrast of…")
                targets: v.nodes.map((n) => `${n.target.join(" ")}  ${(n.failureSummary || "").split("\\n")[1] || ""}`),
            }));
        }""",
        THIRD_PARTY_EXCLUDED,
    )
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def describe(violations):
    return "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["targets"][:20]) for v in violations
    )


@pytest.mark.parametrize(
    "name, path_of, prepare", [(*page, None)[:3] for page in PAGES], ids=[page[0] for page in PAGES]
)
def test_a_main_page_has_no_serious_accessibility_violation(page_for, admin, seeded, name, path_of, prepare):
    page = page_for(admin)
    page.goto(path_of(seeded))
    page.wait_for_load_state("networkidle")
    expect(page.locator("main")).not_to_be_empty()
    expect(page.locator(".loading")).to_have_count(0, timeout=10_000)
    if prepare:
        prepare(page)

    found = serious_violations(page)

    assert found == [], f"{name} ({page.url}):\n{describe(found)}"
    assert page.console_errors == []
