"""Websocket routes of the editor app (preview, presence, live counts)."""

from django.urls import path

from .preview import PreviewConsumer

websocket_urlpatterns = [
    path("ws/preview/", PreviewConsumer.as_asgi()),
]
