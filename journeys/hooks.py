"""The seam between the engine and the side effects it does not own.

`journeys` never imports `delivery` or `editor`. Apps higher up register their implementations
here at start-up (in their AppConfig.ready); the engine and the validator look them up by name.

Known hooks:
- "email.send": delivery's email node executor (see delivery/apps.py).
- "template.resolve": (workspace, ref) -> template version id or None, used by the validator and
  at publish time to pin an immutable template version.
- "experiment.clicks": (journey id) -> a queryset of (contact_id, latest_at): each contact's
  latest click on a message of that journey, the experiments' click metric
  (journeys/experiments.py).
- "journey.last_touch": (enrollment, windows, at) -> (node id, message id, touch) or None: the
  email a conversion is credited to (journeys/report.py).
- "segment.changed": (contact, [(segment, "entered" | "left"), ...]) -> None: a contact's saved
  segment memberships changed (journeys/customers/segments.py), called inside the transaction
  that changed them; for journeys that start on entering or leaving a segment.
- "catalog.changed": (workspace id, [{product, sku, name, ..., old_price, new_price, old_stock,
  new_stock}]) -> None: products changed price or stock (journeys/customers/catalog.py), called
  inside the catalog's transaction; for price-drop and back-in-stock journeys.
- "send_time.engagements": (workspace id, since, until) -> [(contact id, merged into id, message id,
  at)]: human opens and clicks (delivery/engagement.py), for journeys/predictions/sendtime.py;
  "send_time.workspaces": (since) -> workspace ids with any; "sending.quiet_hours": (workspace id)
  -> (start, end) or (None, None).
"""

_hooks = {}


def register(name, implementation):
    _hooks[name] = implementation


def hook(name):
    try:
        return _hooks[name]
    except KeyError:
        raise LookupError(f"nothing registered for {name!r}; is the app that provides it installed?") from None


def has_hook(name):
    return name in _hooks
