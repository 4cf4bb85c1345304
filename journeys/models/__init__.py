"""The domain's tables. customers.py: contacts, events, catalog, commerce state (issue 3).
flows.py: journeys, versions, enrollments, step log (issue 5)."""

from .broadcasts import *  # noqa: F401,F403
from .customers import *  # noqa: F401,F403
from .flows import *  # noqa: F401,F403
from .predictions import *  # noqa: F401,F403
