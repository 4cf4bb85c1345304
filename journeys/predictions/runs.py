"""One fit of one model for one workspace, the same for every model (fit.py's customer value,
sendtime.py's send times, similar.py's recommendations): a PredictionFit row that is running,
then done, refused (too little data: its message says how much is needed) or failed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from .. import clock
from ..models import PredictionFit

log = logging.getLogger(__name__)

RUNNING_FOR = timedelta(hours=1)  # a fit still "running" after this is presumed dead


def run(workspace_id, kind, now, work: Callable[[PredictionFit, object], None], calibration_end=None) -> PredictionFit:
    """Fit `kind` for the workspace: `work(fit, now)` does it and calls `finish`. While another fit of
    the same kind is running (the nightly job and a button press at once would both rewrite every
    contact's predictions), returns that one and does nothing. An exception in `work` is recorded
    on the row as a failure, never raised. Returns the row."""
    running = PredictionFit.objects.filter(
        workspace_id=workspace_id, kind=kind, status=PredictionFit.Status.RUNNING, started_at__gte=now - RUNNING_FOR
    ).first()
    if running is not None:
        return running
    fit = PredictionFit.objects.create(
        workspace_id=workspace_id, kind=kind, calibration_end=calibration_end, started_at=now
    )
    try:
        work(fit, now)
    except Exception as error:
        log.exception("%s fit of workspace %s failed", kind, workspace_id)
        finish(fit, PredictionFit.Status.FAILED, message=f"The fit failed: {error}")
    return fit


def finish(fit, status, message="", params=None, quality=None):
    """The fit's outcome, with what it learned (`params`) and from what (`quality`)."""
    fit.status, fit.message, fit.finished_at = status, message, clock.now()
    fit.params, fit.quality = params or fit.params or {}, quality or fit.quality or {}
    fit.save(update_fields=["status", "message", "finished_at", "params", "quality"])
