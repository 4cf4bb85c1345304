import importlib

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import demo as accounts_demo

# Each app may have a `demo` module with `seed(workspace)`; they run in dependency order.
APP_SEEDERS = ["journeys.customers.demo", "journeys.predictions.demo", "delivery.demo", "editor.demo"]


class Command(BaseCommand):
    help = "Create (or bring up to date) the demo workspace. Safe to run again: nothing is duplicated."

    def handle(self, *args, **options):
        with transaction.atomic():
            workspace, logins, write_key = accounts_demo.seed()
            for dotted in APP_SEEDERS:
                try:
                    module = importlib.import_module(dotted)
                except ModuleNotFoundError as error:
                    if error.name != dotted:
                        raise
                    continue
                module.seed(workspace)
        line = "=" * 72
        self.stdout.write(line)
        self.stdout.write(f"Demo workspace “{workspace.name}” is ready. Log in at http://127.0.0.1:8000/login")
        for email, password, role in logins:
            self.stdout.write(f"  {role:<9} {email:<30} password: {password}")
        self.stdout.write(f"  write key (Segment-compatible API at /v1/): {write_key}")
        self.stdout.write(line)
