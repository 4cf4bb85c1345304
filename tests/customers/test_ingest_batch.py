from journeys.models import Event


def test_top_level_context_and_integrations_are_merged_into_each_item(tracker):
    tracker.post(
        "batch",
        {
            "context": {"library": {"name": "lib", "version": "1"}, "locale": "de-DE"},
            "integrations": {"All": False},
            "batch": [
                {"type": "track", "userId": "u1", "event": "A", "messageId": "a"},
                {"type": "track", "userId": "u1", "event": "B", "messageId": "b", "context": {"locale": "fr-FR"}},
            ],
        },
    )
    a, b = Event.objects.get(message_id="a"), Event.objects.get(message_id="b")
    assert a.context == {"library": {"name": "lib", "version": "1"}, "locale": "de-DE"}
    assert b.context["locale"] == "fr-FR"
    assert b.context["library"]["name"] == "lib"
    assert a.payload["integrations"] == {"All": False}


def test_a_batch_stores_every_type(tracker):
    response = tracker.post(
        "batch",
        {
            "batch": [
                {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}},
                {"type": "track", "userId": "u1", "event": "E"},
                {"type": "page", "anonymousId": "a1", "name": "Home"},
                {"type": "screen", "anonymousId": "a1", "name": "Main"},
                {"type": "group", "userId": "u1", "groupId": "g"},
                {"type": "alias", "userId": "u1", "previousId": "a1"},
            ]
        },
    )
    assert response.status_code == 200
    assert Event.objects.count() == 6
