"""Ready-made journeys: valid, publishable starting points. They reference templates by slug
(cart-reminder, welcome, browse-abandonment, win-back, cross-sell, price-drop, back-in-stock), which
delivery seeds."""

import copy

ITEMS = [
    {
        "key": "cart-abandonment",
        "name": "Cart abandonment",
        "description": "Checkout started, no order within an hour: remind them of their cart, and again a day later.",
        "definition": {
            "trigger": {"type": "event", "event": "Checkout Started", "where": {"all": []}},
            "entry": {"re_entry": "after_exit", "audience": {"field": "contact.email", "op": "exists"}},
            "exit_on": [{"event": "Order Completed", "as_conversion": True}],
            "nodes": [
                {
                    "id": "wait_order",
                    "type": "wait_for_event",
                    "config": {"event": "Order Completed", "timeout": "PT1H", "match": {"property": "cart_id"}},
                },
                {
                    "id": "cart_full",
                    "type": "branch",
                    "config": {"condition": {"field": "cart.items.size", "op": "gt", "value": 0}},
                },
                {"id": "reminder", "type": "email", "config": {"template": "cart-reminder", "category": "marketing"}},
                {"id": "next_day", "type": "delay", "config": {"mode": "duration", "duration": "P1D"}},
                {
                    "id": "still_full",
                    "type": "branch",
                    "config": {"condition": {"field": "cart.items.size", "op": "gt", "value": 0}},
                },
                {"id": "last_call", "type": "email", "config": {"template": "cart-reminder", "category": "marketing"}},
                {"id": "bought", "type": "exit", "config": {}},
                {"id": "done", "type": "exit", "config": {}},
            ],
            "edges": [
                {"from": "trigger", "to": "wait_order"},
                {"from": "wait_order", "port": "event", "to": "bought"},
                {"from": "wait_order", "port": "timeout", "to": "cart_full"},
                {"from": "cart_full", "port": "yes", "to": "reminder"},
                {"from": "cart_full", "port": "no", "to": "done"},
                {"from": "reminder", "to": "next_day"},
                {"from": "next_day", "to": "still_full"},
                {"from": "still_full", "port": "yes", "to": "last_call"},
                {"from": "still_full", "port": "no", "to": "done"},
            ],
        },
    },
    {
        "key": "browse-abandonment",
        "name": "Browse abandonment",
        "description": "Viewed a product and did not add anything to the cart within two hours: show it again.",
        "definition": {
            "trigger": {"type": "event", "event": "Product Viewed", "where": {"all": []}},
            "entry": {
                "re_entry": "cooldown",
                "cooldown": "P3D",
                "audience": {"field": "contact.email", "op": "exists"},
            },
            "exit_on": [{"event": "Order Completed", "as_conversion": True}],
            "nodes": [
                {"id": "wait_add", "type": "wait_for_event", "config": {"event": "Product Added", "timeout": "PT2H"}},
                {
                    "id": "no_recent_order",
                    "type": "branch",
                    "config": {"condition": {"performed": "Order Completed", "within": "P1D", "count": {"eq": 0}}},
                },
                {
                    "id": "browse_mail",
                    "type": "email",
                    "config": {"template": "browse-abandonment", "category": "marketing"},
                },
                {"id": "added", "type": "exit", "config": {}},
                {"id": "done", "type": "exit", "config": {}},
            ],
            "edges": [
                {"from": "trigger", "to": "wait_add"},
                {"from": "wait_add", "port": "event", "to": "added"},
                {"from": "wait_add", "port": "timeout", "to": "no_recent_order"},
                {"from": "no_recent_order", "port": "yes", "to": "browse_mail"},
                {"from": "no_recent_order", "port": "no", "to": "done"},
            ],
        },
    },
    {
        "key": "welcome-series",
        "name": "Welcome series",
        "description": "Welcome a new sign-up, then two days later suggest products to those who already ordered.",
        "definition": {
            "trigger": {"type": "event", "event": "Signed Up", "where": {"all": []}},
            "entry": {"re_entry": "once", "audience": {"field": "contact.email", "op": "exists"}},
            "exit_on": [],
            "nodes": [
                {"id": "welcome", "type": "email", "config": {"template": "welcome", "category": "marketing"}},
                {
                    "id": "two_days",
                    "type": "delay",
                    "config": {"mode": "duration", "duration": "P2D"},
                },
                {
                    "id": "morning",
                    "type": "delay",
                    "config": {"mode": "time_of_day", "time": "10:00", "weekdays": ["mon", "tue", "wed", "thu", "fri"]},
                },
                {
                    "id": "ordered",
                    "type": "branch",
                    "config": {"condition": {"performed": "Order Completed", "within": "P3D"}},
                },
                {"id": "suggest", "type": "email", "config": {"template": "cross-sell", "category": "marketing"}},
                {"id": "tag", "type": "update_contact", "config": {"set": {"traits.welcome_series": "done"}}},
            ],
            "edges": [
                {"from": "trigger", "to": "welcome"},
                {"from": "welcome", "to": "two_days"},
                {"from": "two_days", "to": "morning"},
                {"from": "morning", "to": "ordered"},
                {"from": "ordered", "port": "yes", "to": "suggest"},
                {"from": "ordered", "port": "no", "to": "tag"},
            ],
        },
    },
    {
        "key": "re-engagement",
        "name": "Re-engagement of inactive contacts",
        "description": "No activity for 60 days: a win-back email; still nothing a week later: mark them dormant.",
        "definition": {
            "trigger": {"type": "inactivity", "duration": "P60D"},
            "entry": {"re_entry": "after_exit", "audience": {"field": "contact.email", "op": "exists"}},
            "exit_on": [{"event": "Order Completed", "as_conversion": True}],
            "nodes": [
                {"id": "win_back", "type": "email", "config": {"template": "win-back", "category": "marketing"}},
                {"id": "wait_visit", "type": "wait_for_event", "config": {"event": "Product Viewed", "timeout": "P7D"}},
                {"id": "dormant", "type": "update_contact", "config": {"set": {"traits.engagement": "dormant"}}},
                {"id": "back", "type": "update_contact", "config": {"set": {"traits.engagement": "re-engaged"}}},
            ],
            "edges": [
                {"from": "trigger", "to": "win_back"},
                {"from": "win_back", "to": "wait_visit"},
                {"from": "wait_visit", "port": "timeout", "to": "dormant"},
                {"from": "wait_visit", "port": "event", "to": "back"},
            ],
        },
    },
    {
        "key": "post-purchase-cross-sell",
        "name": "Post-purchase cross-sell",
        "description": "Three days after an order, suggest related products; an A/B test against no email.",
        "definition": {
            "trigger": {"type": "event", "event": "Order Completed", "where": {"all": []}},
            "entry": {
                "re_entry": "cooldown",
                "cooldown": "P14D",
                "audience": {"field": "contact.email", "op": "exists"},
            },
            "exit_on": [],
            "nodes": [
                {"id": "three_days", "type": "delay", "config": {"mode": "duration", "duration": "P3D"}},
                {
                    "id": "test",
                    "type": "experiment",
                    "config": {
                        "variants": [
                            {"id": "email", "label": "Cross-sell email", "weight": 90},
                            {"id": "holdout", "label": "No email (holdout)", "weight": 10},
                        ]
                    },
                },
                {"id": "cross_sell", "type": "email", "config": {"template": "cross-sell", "category": "marketing"}},
                {"id": "holdout_exit", "type": "exit", "config": {}},
            ],
            "edges": [
                {"from": "trigger", "to": "three_days"},
                {"from": "three_days", "to": "test"},
                {"from": "test", "port": "email", "to": "cross_sell"},
                {"from": "test", "port": "holdout", "to": "holdout_exit"},
            ],
        },
    },
]

ITEMS += [
    {
        "key": "price-drop",
        "name": "Price drop",
        "description": "A product someone viewed or carted in the last 30 days gets 10% cheaper: tell them, once.",
        "definition": {
            "trigger": {
                "type": "price_drop",
                "min_percent": 10,
                "interest": ["viewed", "carted", "wishlisted"],
                "window": "P30D",
            },
            "entry": {"re_entry": "after_exit", "audience": {"field": "contact.email", "op": "exists"}},
            "exit_on": [],
            "nodes": [
                {"id": "tell", "type": "email", "config": {"template": "price-drop", "category": "marketing"}},
                {"id": "done", "type": "exit", "config": {}},
            ],
            "edges": [{"from": "trigger", "to": "tell"}, {"from": "tell", "to": "done"}],
        },
    },
    {
        "key": "back-in-stock",
        "name": "Back in stock",
        "description": "A product someone carted or wishlisted comes back in stock: tell them while it lasts.",
        "definition": {
            "trigger": {"type": "back_in_stock", "interest": ["carted", "wishlisted"], "window": "P30D"},
            "entry": {"re_entry": "after_exit", "audience": {"field": "contact.email", "op": "exists"}},
            "exit_on": [],
            "nodes": [
                {"id": "tell", "type": "email", "config": {"template": "back-in-stock", "category": "marketing"}},
                {"id": "done", "type": "exit", "config": {}},
            ],
            "edges": [{"from": "trigger", "to": "tell"}, {"from": "tell", "to": "done"}],
        },
    },
]

BY_KEY = {item["key"]: item for item in ITEMS}


def layout_for(definition):
    """Simple top-to-bottom positions (breadth-first from the trigger) for the canvas."""
    children = {}
    for edge in definition.get("edges", []):
        children.setdefault(edge["from"], []).append(edge["to"])
    layout, level, seen, row = {}, ["trigger"], {"trigger"}, 1
    while level:
        following = []
        for node in level:
            for child in children.get(node, []):
                if child not in seen:
                    seen.add(child)
                    following.append(child)
        for index, node in enumerate(following):
            layout[node] = {"x": (index - (len(following) - 1) / 2) * 280, "y": row * 140}
        level, row = following, row + 1
    return layout


def catalog():
    return [
        {
            "key": item["key"],
            "name": item["name"],
            "description": item["description"],
            "trigger": item["definition"]["trigger"].get("event") or item["definition"]["trigger"]["type"],
        }
        for item in ITEMS
    ]


def definition_of(key):
    """A fresh copy of a ready-made definition, with a layout; None for an unknown key."""
    item = BY_KEY.get(key)
    if item is None:
        return None
    definition = copy.deepcopy(item["definition"])
    definition.setdefault("layout", layout_for(definition))
    return definition
