from django.core.mail.backends.base import BaseEmailBackend

from .models import SandboxEmail


class SandboxBackend(BaseEmailBackend):
    """The embedded default transport: stores each message in the sandbox mailbox instead of sending it."""

    def send_messages(self, email_messages):
        count = 0
        for message in email_messages:
            mime = message.message()
            html = ""
            for alternative, mimetype in getattr(message, "alternatives", []) or []:
                if mimetype == "text/html":
                    html = alternative
            workspace_id = message.extra_headers.get("X-Wayline-Workspace") if message.extra_headers else None
            SandboxEmail.objects.create(
                workspace_id=int(workspace_id) if workspace_id and str(workspace_id).isdigit() else None,
                from_email=message.from_email,
                to=list(message.recipients()),
                subject=message.subject,
                text=message.body if message.content_subtype == "plain" else "",
                html=html or (message.body if message.content_subtype == "html" else ""),
                headers={key: str(value) for key, value in mime.items()},
                raw=mime.as_string(),
            )
            count += 1
        return count
