"""Ready segments (issue 14): audiences a workspace gets without writing rules, kept current by
the segment machinery (journeys/customers/segments.py) like any dynamic segment.

RFM groups, from each contact's recency (days since the last order: `orders.0.placed_at`),
frequency (`contact.orders_count`) and monetary value (`contact.lifetime_value`), with thresholds
taken from the workspace's own customers (its quantiles), so that "frequent" means frequent for
this shop:
- Champions: bought often (top 20% by orders) and lately (the most recent 40%);
- Loyal: bought often (top half), not lately enough to be champions, not long ago;
- At risk: bought often (top half) but long ago (the oldest 40% by last order);
- Hibernating: bought rarely and long ago;
- New: one order, within the last 30 days.
Then from the predictions (journeys/predictions/clv.py): churn risk high, and high predicted value
(the top 10% of the predicted value of the next 365 days).

`ensure_ready_segments(workspace, now)` creates the missing ones and updates the thresholds of
the others (a changed rule re-evaluates every contact); it runs after each fit of the customer-value
models. A ready segment's rule cannot be edited (segments.update_segment refuses) nor the segment
deleted: Wayline keeps it.
"""

from __future__ import annotations

import math
from decimal import Decimal

from django.db.models import Count, Max

from ..customers import segments
from ..models import ContactPrediction, Order, Segment

MIN_CUSTOMERS = 20  # below this many contacts with orders, quantiles mean nothing: none are made
NEW_WITHIN_DAYS = 30

READY = {
    "rfm_champions": ("Champions", "Bought often and lately: your best customers."),
    "rfm_loyal": ("Loyal customers", "Buy often; not as lately as the champions."),
    "rfm_at_risk": ("At risk", "Used to buy often, but not for a long time."),
    "rfm_hibernating": ("Hibernating", "Bought rarely, and long ago."),
    "rfm_new": ("New customers", f"Placed their first order in the last {NEW_WITHIN_DAYS} days."),
    "churn_risk_high": ("Predicted churn risk: high", "Unlikely to still be a customer (predicted)."),
    "predicted_high_value": ("Predicted high value", "The top 10% by predicted spend over the next year."),
}


def quantile(values, share):
    """The value below which `share` of the sorted `values` lie (nearest rank)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def thresholds(workspace, now) -> dict | None:
    """The workspace's RFM thresholds, or None when too few contacts have orders."""
    last = (
        Order.objects.filter(workspace=workspace, status="completed", contact__merged_into__isnull=True)
        .values("contact_id")
        .annotate(last=Max("placed_at"), count=Count("id"))
    )
    days = [(now - row["last"]).total_seconds() / 86400 for row in last]
    if len(days) < MIN_CUSTOMERS:
        return None
    counts = [row["count"] for row in last]
    values = [
        value for value in ContactPrediction.objects.filter(workspace=workspace).values_list("clv_365d", flat=True)
    ]
    values = [value for value in values if value is not None]
    return {
        "often": max(2, quantile(counts, 0.8)),  # top 20% by orders
        "regular": max(2, quantile(counts, 0.5)),  # top half
        "lately_days": max(7, math.floor(quantile(days, 0.4))),  # the most recent 40%
        "long_ago_days": max(30, math.floor(quantile(days, 0.6))),  # the oldest 40%
        "predicted": bool(values),  # the customer-value models have predicted for this workspace
        "high_value": quantile(values, 0.9) if len(values) >= MIN_CUSTOMERS else None,
    }


def _orders(op, value):
    return {"field": "contact.orders_count", "op": op, "value": value}


def _last_order(op, days):
    return {"field": "orders.0.placed_at", "op": op, "value": f"-P{days}D"}


def rules_for(limits) -> dict[str, dict]:
    """The rule of each ready segment for these thresholds."""
    champions = {"all": [_orders("gte", limits["often"]), _last_order("after", limits["lately_days"])]}
    found = {
        "rfm_champions": champions,
        "rfm_loyal": {
            "all": [
                _orders("gte", limits["regular"]),
                _last_order("after", limits["long_ago_days"]),
                {"not": champions},
            ]
        },
        "rfm_at_risk": {"all": [_orders("gte", limits["regular"]), _last_order("before", limits["long_ago_days"])]},
        "rfm_hibernating": {"all": [_orders("lt", limits["regular"]), _last_order("before", limits["long_ago_days"])]},
        "rfm_new": {"all": [_orders("eq", 1), _last_order("after", NEW_WITHIN_DAYS)]},
    }
    if limits.get("predicted"):
        churn = {"field": "predicted.churn_risk", "op": "eq", "value": "high"}
        found["churn_risk_high"] = {"all": [_orders("gte", 1), churn]}
    if limits.get("high_value") is not None:
        value = Decimal(str(limits["high_value"])).quantize(Decimal("0.01"))
        found["predicted_high_value"] = {"field": "predicted.clv_365d", "op": "gte", "value": float(max(value, 1))}
    return found


def ensure_ready_segments(workspace, now) -> list[Segment]:
    """Create or update the workspace's ready segments. Returns those kept (none with thin data)."""
    limits = thresholds(workspace, now)
    if limits is None:
        return []
    kept = []
    existing = {s.ready_key: s for s in Segment.objects.filter(workspace=workspace).exclude(ready_key="")}
    for key, rule in rules_for(limits).items():
        name, description = READY[key]
        segment = existing.get(key)
        if segment is None:
            name = _free_name(workspace, name)
            segment = segments.create_segment(
                workspace, None, {"name": name, "description": description, "rule": rule}, now, ready_key=key
            )
        elif segment.rule != rule:
            segment = segments.update_segment(segment, None, {"rule": rule}, now, ready=True)
        kept.append(segment)
    return kept


def _free_name(workspace, name):
    """The name, or "<name> (ready)" when a marketer's own segment has it already."""
    taken = set(Segment.objects.filter(workspace=workspace, name__startswith=name).values_list("name", flat=True))
    candidates = [name, f"{name} (ready)", *(f"{name} (ready {n})" for n in range(2, 100))]
    return next(candidate for candidate in candidates if candidate not in taken)
