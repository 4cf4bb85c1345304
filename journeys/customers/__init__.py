"""What other apps may use of the customer data: suppression and the erasure signal.

delivery (which journeys never imports) relies on these two seams:

- `is_suppressed(workspace, email)`: True for an address that must never be mailed again
  (an erased contact's, or one added with `suppress`). Only a hash is stored. For a batch,
  `suppressed_among(workspace, emails)` answers for all of them in one query.
- `contact_erased`: sent inside the erasure's transaction, before the contact's rows are deleted,
  with `workspace`, `contact_id`, `emails` (every address the contact had), `user_ids` and
  `anonymous_ids`. A receiver deletes or scrubs the personal data it holds (outbox messages,
  rendered bodies, tracking rows); raising aborts the erasure, so nothing is half-erased.

      from journeys.customers import contact_erased

      @receiver(contact_erased)
      def scrub_messages(sender, workspace, contact_id, emails, **kwargs): ...
"""

import hashlib

from django.dispatch import Signal

from ..models import Suppression

contact_erased = Signal()


def normalize_email(email):
    return (email or "").strip().lower()


def email_hash(workspace, email):
    """A workspace-salted SHA-256 of the normalized address: enough to recognise it, not to read it."""
    workspace_id = getattr(workspace, "pk", workspace)
    return hashlib.sha256(f"{workspace_id}:{normalize_email(email)}".encode()).hexdigest()


def is_suppressed(workspace, email):
    if not normalize_email(email):
        return False
    return Suppression.objects.filter(
        workspace_id=getattr(workspace, "pk", workspace), email_hash=email_hash(workspace, email)
    ).exists()


def suppressed_among(workspace, emails):
    """Which of these addresses are suppressed (normalized), in one query: a batch of sends."""
    by_hash = {email_hash(workspace, email): normalize_email(email) for email in emails if normalize_email(email)}
    if not by_hash:
        return set()
    found = Suppression.objects.filter(workspace_id=getattr(workspace, "pk", workspace), email_hash__in=list(by_hash))
    return {by_hash[h] for h in found.values_list("email_hash", flat=True)}


def suppress(workspace, email, reason="manual"):
    """Never mail this address again (idempotent). Returns the Suppression row, or None for no address."""
    if not normalize_email(email):
        return None
    suppression, _ = Suppression.objects.get_or_create(
        workspace_id=getattr(workspace, "pk", workspace),
        email_hash=email_hash(workspace, email),
        defaults={"reason": reason},
    )
    return suppression
