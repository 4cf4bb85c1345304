"""Anonymous activity is kept and merged into the known contact; traits merge newer-wins."""

from journeys.models import Contact, ContactIdentity, Event


def live(workspace):
    return Contact.objects.filter(workspace=workspace, merged_into=None)


def test_anonymous_events_join_the_contact_when_it_identifies(tracker, workspace, process):
    tracker.post("track", {"anonymousId": "anon-1", "event": "Product Viewed", "properties": {"product_id": "p1"}})
    process()
    tracker.post("identify", {"userId": "u1", "anonymousId": "anon-1", "traits": {"email": "a@example.com"}})
    process()
    contact = live(workspace).get()
    assert contact.user_id == "u1"
    assert contact.events.count() == 2
    assert [item["product_id"] for item in contact.recently_viewed] == ["p1"]
    assert set(contact.identities.values_list("kind", "value")) == {("user_id", "u1"), ("anonymous_id", "anon-1")}


def test_a_known_user_seen_anonymously_on_a_new_device_is_merged(tracker, workspace, process):
    tracker.post("identify", {"userId": "u1", "traits": {"plan": "pro"}})
    tracker.post("track", {"anonymousId": "phone", "event": "Product Added", "properties": {"product_id": "p9"}})
    process()
    assert live(workspace).count() == 2
    tracker.post("track", {"userId": "u1", "anonymousId": "phone", "event": "Logged In"})
    process()
    contact = live(workspace).get()
    assert contact.user_id == "u1"
    assert contact.events.count() == 3
    assert contact.cart["quantity"] == 1
    merged = Contact.objects.get(merged_into=contact)
    assert merged.user_id is None


def test_alias_merges_the_previous_id_into_the_user(tracker, workspace, process):
    tracker.post("identify", {"anonymousId": "visitor-7", "traits": {"newsletter": True}})
    tracker.post("identify", {"userId": "u7", "traits": {"plan": "free"}})
    process()
    tracker.post("alias", {"previousId": "visitor-7", "userId": "u7"})
    process()
    contact = live(workspace).get()
    assert contact.traits == {"newsletter": True, "plan": "free"}
    assert Event.objects.filter(contact=contact).count() == 3


def test_a_device_of_another_known_user_is_not_merged(tracker, workspace, process):
    tracker.post("identify", {"userId": "alice", "anonymousId": "shared-tablet"})
    process()
    tracker.post("identify", {"userId": "bob", "anonymousId": "shared-tablet"})
    process()
    assert sorted(live(workspace).values_list("user_id", flat=True)) == ["alice", "bob"]
    assert ContactIdentity.objects.get(value="shared-tablet").contact.user_id == "alice"


def test_newer_traits_win_whatever_the_arrival_order(tracker, workspace, process):
    tracker.post("identify", {"userId": "u1", "traits": {"plan": "vip"}, "timestamp": "2025-02-01T00:00:00Z"})
    process()
    tracker.post(
        "identify", {"userId": "u1", "traits": {"plan": "free", "city": "Oslo"}, "timestamp": "2025-01-01T00:00:00Z"}
    )
    process()
    contact = live(workspace).get()
    assert contact.traits["plan"] == "vip"  # the late, older identify does not win
    assert contact.traits["city"] == "Oslo"  # but what it alone says is kept


def test_profile_fields_come_from_traits_and_context(tracker, workspace, process):
    tracker.post(
        "identify",
        {
            "userId": "u1",
            "traits": {"email": "Jo@Example.com", "address": {"country": "Germany", "city": "Köln"}},
            "context": {"timezone": "Europe/Berlin", "locale": "de_de"},
        },
    )
    tracker.post("track", {"userId": "u2", "event": "E", "context": {"location": {"country": "FR", "city": "Lyon"}}})
    process()
    first, second = live(workspace).get(user_id="u1"), live(workspace).get(user_id="u2")
    assert (first.email, first.country, first.city, first.timezone, first.locale) == (
        "Jo@example.com",
        "DE",
        "Köln",
        "Europe/Berlin",
        "de-DE",
    )
    assert (second.country, second.city) == ("FR", "Lyon")


def test_an_identify_adopts_an_imported_contact_with_the_same_email(tracker, workspace, process):
    imported = Contact.objects.create(workspace=workspace, email="kim@example.com")
    tracker.post("identify", {"userId": "kim-1", "traits": {"email": "kim@example.com"}})
    process()
    assert live(workspace).get().pk == imported.pk
    imported.refresh_from_db()
    assert imported.user_id == "kim-1"
