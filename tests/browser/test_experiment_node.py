"""An experiment's decision on the canvas: once the winner rule has decided, the node card says
which variant won, and the side panel shows the results it was decided on."""

import pytest
from playwright.sync_api import expect

from journeys import clock, drafts, publishing
from journeys.models import ExperimentState
from tests.browser.test_canvas import open_editor, templates  # noqa: F401 (a fixture)

# The page is the same on either database and its server side is tested on both (tests/api, the
# apps' own tests): in the browser once, in the first half of .ci/run.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_half]

DEFINITION = {
    "trigger": {"type": "event", "event": "Signed Up"},
    "exit_on": [{"event": "Order Completed", "as_conversion": True}],
    "nodes": [
        {
            "id": "ab",
            "type": "experiment",
            "config": {
                "variants": [{"id": "a", "label": "Plain", "weight": 50}, {"id": "b", "label": "Bold", "weight": 50}],
                "decide": {"metric": "conversion", "min_sample": 100, "confidence": 0.95},
            },
        },
        {"id": "mail_a", "type": "email", "config": {"template": "cart-reminder"}},
        {"id": "mail_b", "type": "email", "config": {"template": "cart-reminder"}},
    ],
    "edges": [
        {"from": "trigger", "to": "ab"},
        {"from": "ab", "port": "a", "to": "mail_a"},
        {"from": "ab", "port": "b", "to": "mail_b"},
    ],
}


def test_the_node_says_which_variant_won(page_for, marketer, workspace, templates):  # noqa: F811
    journey = drafts.create_journey(workspace, marketer, "A/B welcome", definition=DEFINITION)
    publishing.publish_journey(journey, marketer)
    page = page_for(marketer)
    open_editor(page, journey.pk)
    expect(page.get_by_test_id("node-ab")).to_be_visible()
    expect(page.get_by_test_id("winner-ab")).to_have_count(0)  # not decided yet

    ExperimentState.objects.create(  # what the workers' refresh stores when the rule decides
        workspace=workspace, journey=journey, node="ab", winner="b", decided_at=clock.now(), reason="b beats the others"
    )
    page.reload()
    expect(page.get_by_test_id("winner-ab")).to_have_text("Winner: Bold")
