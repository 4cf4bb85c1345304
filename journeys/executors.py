"""The seam between the engine and side effects it does not own.

`journeys` never imports `delivery`: delivery registers the executor of the `email` node here at
start-up (in its AppConfig.ready). The engine looks executors up by node type.
"""

_executors = {}


def register(node_type, executor):
    _executors[node_type] = executor


def executor_for(node_type):
    try:
        return _executors[node_type]
    except KeyError:
        raise LookupError(f"no executor registered for {node_type!r} nodes") from None
