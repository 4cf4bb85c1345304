"""Websocket routes of the editor app (preview, presence, live counts)."""

websocket_urlpatterns = []
