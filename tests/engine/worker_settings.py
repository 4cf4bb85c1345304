"""Settings of the `manage.py qcluster` processes the end-to-end and fault tests start: the
project's settings, pointed at the test database, with the queue timings the test asks for."""

import os

from wayline.settings import *  # noqa: F403
from wayline.settings import DATABASES, Q_CLUSTER

if os.environ.get("WAYLINE_TEST_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["WAYLINE_TEST_DB_NAME"]

Q_CLUSTER = {
    **Q_CLUSTER,
    "timeout": int(os.environ.get("TEST_Q_TIMEOUT", Q_CLUSTER["timeout"])),
    "retry": int(os.environ.get("TEST_Q_RETRY", Q_CLUSTER["retry"])),
    "sync": False,
}
# JOURNEYS_* come from the environment the test gives the cluster, like in production
# (wayline/settings.py declares them).
