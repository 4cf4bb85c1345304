from django.core.management.base import BaseCommand

from journeys.customers import events
from journeys.models import Contact


class Command(BaseCommand):
    help = (
        "Derive every contact's cart, recently viewed products, orders, lifetime value and last activity "
        "again from its event history. Safe to run at any time, also while events arrive."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workspace", type=int, help="Only this workspace (id).")
        parser.add_argument("--contact", type=int, help="Only this contact (id).")

    def handle(self, *args, workspace=None, contact=None, verbosity=1, **options):
        contacts = Contact.objects.filter(merged_into=None).order_by("id")
        if workspace:
            contacts = contacts.filter(workspace_id=workspace)
        if contact:
            contacts = contacts.filter(pk=contact)
        count = 0
        for item in contacts.iterator(chunk_size=500):
            events.rebuild_commerce(item)
            count += 1
        if verbosity:
            self.stdout.write(f"Rebuilt the commerce state of {count} contacts.")
