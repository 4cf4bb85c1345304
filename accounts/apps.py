from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Workspaces and members"

    def ready(self):
        from . import schema  # noqa: F401  (registers the OpenAPI description of token auth)
