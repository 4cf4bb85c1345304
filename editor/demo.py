"""Demo seeding of the engine's part: the ready-made journeys, published in the demo workspace.

Runs after journeys.demo (contacts, events) and delivery.demo (the templates the journeys send),
see wayline/management/commands/seed_demo.py. Idempotent: a journey made from a ready-made one
is found by its library key and left as it is.
"""

from journeys import drafts, publishing
from journeys.engine import library
from journeys.models import Journey

from . import history_demo, personas_demo


def seed(workspace):
    personas_demo.seed(workspace)  # the QA workspace's personas (editor/personas_demo.py)
    published = []
    for item in library.ITEMS:
        journey = Journey.objects.filter(workspace=workspace, library_key=item["key"]).first()
        if journey is None:
            journey = drafts.create_journey(
                workspace,
                None,
                item["name"],
                definition=library.definition_of(item["key"]),
                description=item["description"],
                library_key=item["key"],
            )
        if journey.live_version_id is None and journey.status == Journey.Status.DRAFT:
            if drafts.check_definition(journey.draft, workspace):
                continue  # e.g. the templates are not there: left as a draft to fix in the app
            publishing.publish_journey(journey, None)
            published.append(journey.name)
    history_demo.seed(workspace)  # two weeks of the cart-abandonment journey, for its report
    return published
