"""Websocket routes of the editor app (preview, presence, live counts)."""

from django.urls import path

from .counts import CountsConsumer
from .preview import PreviewConsumer

websocket_urlpatterns = [
    path("ws/preview/", PreviewConsumer.as_asgi()),
    path("ws/journeys/<int:journey_id>/counts", CountsConsumer.as_asgi()),
]
