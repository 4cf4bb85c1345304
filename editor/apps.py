from django.apps import AppConfig


class EditorConfig(AppConfig):
    name = "editor"
    verbose_name = "Journey builder server side"
