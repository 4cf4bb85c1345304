"""Predictions about contacts, fitted per workspace by a worker (issue 14).

- `clv`: the pure models (numpy and scipy, no ORM): BG/NBD for how often a contact orders and
  whether it is still a customer, Gamma-Gamma for how much an order is worth.
- `fit`: reads a workspace's orders, fits the models, refuses when there is too little data,
  and stores one ContactPrediction per contact with orders (the `predicted` root of the context).
- `tasks`: the django-q2 entry points (on demand and nightly).
"""
