"""The seam between the engine and the side effects it does not own.

`journeys` never imports `delivery` or `editor`. Apps higher up register their implementations
here at start-up (in their AppConfig.ready); the engine and the validator look them up by name.

Known hooks:
- "email.send": delivery's email node executor (see delivery/apps.py).
- "template.resolve": (workspace, ref) -> template version id or None, used by the validator and
  at publish time to pin an immutable template version.
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
