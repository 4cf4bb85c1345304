from django.apps import AppConfig
from django.db.models.signals import post_migrate


class JourneysConfig(AppConfig):
    name = "journeys"
    verbose_name = "Contacts, events, catalog and journeys"

    def ready(self):
        from django_q.signals import post_spawn

        from . import hooks, lifecycle, tasks, triggers
        from .customers import tasks as customer_tasks
        from .predictions import tasks as prediction_tasks

        # The customer-data half reaches the journey side only through these hooks: ingestion
        # calls the first after applying each event, identity resolution the second after a merge.
        hooks.register("event.processed", triggers.on_event)
        hooks.register("contact.merged", lifecycle.contact_merged)
        hooks.register("segment.changed", triggers.on_segment_changed)
        hooks.register("catalog.changed", triggers.on_catalog_changed)
        post_spawn.connect(tasks.on_worker_spawn, dispatch_uid="journeys.worker_spawn")
        post_migrate.connect(tasks.ensure_schedule, sender=self, dispatch_uid="journeys.schedule")
        post_migrate.connect(customer_tasks.ensure_schedule, sender=self, dispatch_uid="journeys.events_sweep")
        post_migrate.connect(prediction_tasks.ensure_schedule, sender=self, dispatch_uid="journeys.predictions_nightly")
