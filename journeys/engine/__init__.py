"""The pure journey engine: no Django, no ORM, no I/O, time passed in (a test checks the imports).

- `nodes`: the one list of node types and their facts (ports, does it wait, does it decide, limits).
- `rules`: the one rule language (conditions on a contact's context and event history).
- `step`: `next_step` (what the node a contact stands on does now) and `drive` (steps until the
  contact waits or leaves), over an `Effects` object the worker or the simulator provides.
- `definition`: validation of a journey definition, with problems that name the node and field.
- `simulator`: a journey run on a made-up timeline, with the same `step` code and its own clock.
- `library`: the ready-made journeys.

The package's face is `step`'s: `from journeys import engine; engine.drive(...)`.
"""

from .step import *  # noqa: F401,F403
