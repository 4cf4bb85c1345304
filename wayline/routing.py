"""Websocket routes of every app, wired here only."""

from editor.routing import websocket_urlpatterns as editor_routes

websocket_urlpatterns = [*editor_routes]
