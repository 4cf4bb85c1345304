from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DeliveryConfig(AppConfig):
    name = "delivery"
    verbose_name = "Templates, rendering and delivery"

    def ready(self):
        from anymail.signals import tracking

        from journeys import hooks
        from journeys.customers import contact_erased

        from . import actions, engagement, experiments, receivers, tasks

        # The email node seam (coord.md): journeys reaches delivery only through these.
        hooks.register("email.send", actions.send_email_step)
        hooks.register("email.send_batch", actions.send_email_steps)
        hooks.register("template.resolve", actions.resolve_template)
        hooks.register("experiment.clicks", experiments.latest_clicks)
        hooks.register("journey.last_touch", actions.last_touch)
        hooks.register("journey.message_counts", actions.message_counts)
        hooks.register("send_time.engagements", engagement.human_engagements)
        hooks.register("send_time.workspaces", engagement.engaged_workspaces)
        hooks.register("sending.quiet_hours", engagement.quiet_hours)
        tracking.connect(receivers.on_esp_tracking, dispatch_uid="delivery.esp_tracking")
        contact_erased.connect(receivers.on_contact_erased, dispatch_uid="delivery.contact_erased")
        post_migrate.connect(tasks.ensure_schedule, sender=self, dispatch_uid="delivery.schedule")
