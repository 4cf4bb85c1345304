"""update_contact values and webhook requests render in the one Liquid sandbox emails use: its
filters exist there (the engine used to have a sandbox of its own, without them and without a
time bound), and its limits stop the same crafted templates."""

from journeys.models import Contact, StepLog, WebhookCall

from .conftest import definition, make_contact, publish, run_worker, track

REPLACE_EIGHT_TIMES = "{{ 'x'" + ' | replace: "x", "xxxxxxxxxx"' * 8 + " }}"


def left(journey, node):
    return StepLog.objects.get(journey=journey, node=node, left=True)


def test_contact_values_use_the_email_filters_and_limits(workspace, fake_email):
    flow = definition(
        ("price", "update_contact", {"set": {"traits.price": "{{ 19.9 | money }}"}}),
        ("set", "update_contact", {"set": {"traits.big": REPLACE_EIGHT_TIMES}}),
        edges=[("trigger", "price"), ("price", "set")],
    )
    journey = publish(workspace, flow)
    contact = make_contact(workspace, locale="de-DE")
    track(contact, "Signed Up")
    run_worker()
    contact = Contact.objects.get(pk=contact.pk)
    assert contact.traits["price"] == "19,90\xa0$"  # the contact's locale, as in an email
    assert "big" not in contact.traits
    assert "the result of “replace” is too large" in " ".join(left(journey, "set").detail["errors"])


def test_a_crafted_webhook_body_fails_the_call_before_it_is_made(workspace, fake_email):
    flow = definition(
        ("hook", "webhook", {"url": "https://hooks.example.com/x", "body": "{{ (1..1000000) | join }}"}),
        edges=[("trigger", "hook")],
    )
    journey = publish(workspace, flow)
    track(make_contact(workspace), "Signed Up")
    run_worker()
    step = left(journey, "hook")
    assert step.port == "failure" and "has more than 10,000 items" in step.detail["error"]
    assert not WebhookCall.objects.exists()
