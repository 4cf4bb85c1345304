from django.apps import AppConfig, apps
from django.db.models.signals import post_save


class EditorConfig(AppConfig):
    name = "editor"
    verbose_name = "Journey builder server side"

    def ready(self):
        from journeys import hooks

        from . import actions, counts, signals

        # The engine reports contacts moving; the canvas's live counts listen (editor/counts.py).
        hooks.register("journey.progress", counts.notify_progress)

        # The engine asks before publishing: refused without a valid QA approval when required.
        hooks.register("publish.check", actions.check_publish)
        # Saving a journey draft withdraws approvals of older revisions and tells other editors.
        hooks.register("draft.saved", signals.draft_saved)
        post_save.connect(signals.journey_saved, sender="journeys.Journey", dispatch_uid="editor.journey_saved")
        post_save.connect(signals.version_published, sender="journeys.JourneyVersion", dispatch_uid="editor.published")
        if apps.is_installed("delivery") and _has_model("delivery", "Template"):
            post_save.connect(signals.template_saved, sender="delivery.Template", dispatch_uid="editor.template_saved")
        if apps.is_installed("delivery") and _has_model("delivery", "TemplateVersion"):
            post_save.connect(
                signals.template_version_saved, sender="delivery.TemplateVersion", dispatch_uid="editor.version_saved"
            )


def _has_model(app_label, name):
    try:
        apps.get_model(app_label, name)
    except LookupError:
        return False
    return True
