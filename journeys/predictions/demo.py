"""Demo seeding of the predictions: the demo workspace's models fitted on its order history
(journeys/customers/demo.py seeds two years of it), as the nightly job would, so that contacts show
their predictions, the ready segments have members and recommendations are learned. Runs after
journeys.customers.demo (wayline/management/commands/seed_demo.py); each run fits again."""

from .. import clock
from . import fit, similar


def seed(workspace):
    now = clock.now()
    result = fit.fit_workspace(workspace.pk, now=now)
    learned = similar.fit_workspace(workspace.pk, now=now, window_days=730)
    return {"customer_value": result.status, "message": result.message, "recommendations": learned.status}
