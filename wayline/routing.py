"""Websocket routes of every app, wired here only."""

websocket_urlpatterns = []
