"""django-q2 entry points for customer data. Thin: each is a kick that says "look now"."""

from . import customer_actions


def process_events(workspace_id):
    return customer_actions.drain_events(workspace_id)


def run_import(job_id):
    customer_actions.run_import(job_id)


def sweep():
    """Scheduled every minute: re-drive events left unprocessed by a worker that died."""
    return customer_actions.sweep_stalled()
