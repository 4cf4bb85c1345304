"""The OpenAPI schema (/api/schema/) tells the truth: schemathesis generates requests for every
operation from it and checks each answer against it (no 5xx, status code documented, body and
content type as documented), as an admin of a seeded workspace holding a Bearer API token.

Bounded and deterministic: a few examples per operation (SCHEMATHESIS_EXAMPLES, 12 by default),
derandomized, so the run takes about a minute here and fails the same way every time.
"""

import logging
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts import actions as account_actions
from accounts.models import Membership, Role
from tests.factories import make_member, make_workspace

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


class Seeded:
    """A workspace as the demo leaves it (contacts, events, catalog, templates, journeys, personas),
    its admin's API token, and the ids each path parameter is given."""

    def __init__(self):
        from delivery import demo as delivery_demo
        from editor import personas_demo
        from journeys.customers import demo as customers_demo

        self.workspace = make_workspace("Schema Shop")
        self.admin = make_member(self.workspace, Role.ADMIN, email="admin@schema.test")
        self.marketer = make_member(self.workspace, Role.MARKETER, email="marketer@schema.test")
        customers_demo.seed(self.workspace)
        delivery_demo.seed(self.workspace)
        personas_demo.seed(self.workspace)
        membership = Membership.objects.get(user=self.admin, workspace=self.workspace)
        _, self.token = account_actions.create_api_token(membership, "schemathesis")
        self.spare_token, _ = account_actions.create_api_token(membership, "to revoke")
        self.invitation, self.invitation_token = account_actions.invite_member(
            self.workspace, self.admin, "invitee@schema.test", Role.QA
        )
        self._through_the_api()
        self.ids = self._ids()

    def _through_the_api(self):
        """What the app's users make: a published journey from the library, a test send, an import."""
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.token}")
        journey = client.post("/api/journeys", {"library_key": "cart-abandonment"}, format="json")
        assert journey.status_code == 201, journey.content
        published = client.post(f"/api/journeys/{journey.json()['id']}/publish", {}, format="json")
        assert published.status_code == 200, published.content
        client.post("/api/journeys", {"name": "A draft"}, format="json")
        template = client.get("/api/templates").json()["results"][0]
        sent = client.post(f"/api/templates/{template['id']}/test-send", {"to": "admin@schema.test"}, format="json")
        assert sent.status_code == 201, sent.content
        csv = "email,first_name\nann@example.com,Ann\n"
        upload = client.post("/api/imports", {"kind": "contacts", "content": csv, "filename": "c.csv"}, format="json")
        assert upload.status_code == 201, upload.content
        client.post("/api/write-keys", {"name": "Shop"}, format="json")
        rule = {"field": "contact.country", "op": "exists"}
        segment = client.post("/api/segments", {"name": "With a country", "rule": rule}, format="json")
        assert segment.status_code == 201, segment.content

    def _ids(self):
        from accounts.models import WriteKey
        from delivery.models import ContentBlock, CouponPool, Message, SandboxEmail, Template
        from editor.models import Persona
        from journeys.models import Contact, ImportJob, Journey, Product, Segment

        def first(model, **lookup):
            rows = model.objects.filter(workspace=self.workspace, **lookup).order_by("id")
            return rows.values_list("id", flat=True).first()

        journey = first(Journey, live_version__isnull=False)
        return {
            "/api/blocks/": first(ContentBlock),
            "/api/contacts/": first(Contact),
            "/api/coupon-pools/": first(CouponPool),
            "/api/imports/": first(ImportJob),
            "/api/invitations/": self.invitation.id,
            "/api/journeys/": journey,
            "/api/qa/journeys/": journey,
            # Not the admin's own membership: a role change would lock the run out.
            "/api/members/": Membership.objects.get(user=self.marketer, workspace=self.workspace).id,
            "/api/outbox/": first(Message),
            "/api/personas/": first(Persona),
            "/api/products/": first(Product),
            "/api/public/invitations/": self.invitation_token,
            "/api/sandbox/": first(SandboxEmail),
            "/api/segments/": first(Segment),
            "/api/templates/": first(Template),
            "/api/tokens/": self.spare_token.id,  # never the token the run authenticates with
            "/api/write-keys/": first(WriteKey),
        }

    def fill_path(self, case):
        """Point path parameters at seeded objects, so that answers other than 404 are checked."""
        path = case.path
        for prefix, value in self.ids.items():
            if path.startswith(prefix) and value is not None:
                for name in case.path_parameters or {}:
                    if name in ("id", "journey_id", "token"):
                        case.path_parameters[name] = value
                    elif name == "number":
                        case.path_parameters[name] = 1
                return


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seeded once for the module, in a transaction rolled back at its end; each operation's test
    runs in a transaction of its own inside it, so what one operation deletes the next still has."""
    with django_db_blocker.unblock(), transaction.atomic():
        seeded = Seeded()
        # The WSGI handler closes the connection after each request (Django's test client keeps it
        # from doing so), which would end the transactions.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        quiet = logging.getLogger("django.request")  # thousands of expected 4xx warnings
        level, quiet.level = quiet.level, logging.ERROR
        try:
            yield seeded
        finally:
            quiet.level = level
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        transaction.set_rollback(True)


# Loaded at collection: one test per operation. The fuzzing phase draws EXAMPLES valid and invalid
# requests per operation. Schemathesis's coverage phase (every boundary value and unexpected method
# of every operation: some 15,000 requests, three minutes here) runs with SCHEMATHESIS_COVERAGE=1.
COVERAGE = os.environ.get("SCHEMATHESIS_COVERAGE") == "1"
CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": COVERAGE}}})
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), config=CONFIG).exclude(
    path="/api/schema/"  # drf-spectacular's own view
)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.django_db
def test_every_operation_answers_as_documented(case, seeded):
    seeded.fill_path(case)
    case.call_and_validate(headers={"Authorization": f"Bearer {seeded.token}"}, checks=CHECKS)
