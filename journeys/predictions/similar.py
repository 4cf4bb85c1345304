"""Which products go together, learned from behaviour (issue 14): item-to-item similarity from
co-views, co-carts and co-purchases, fitted per workspace by a worker and read at render time
(delivery/recommend.py) by one indexed query per contact.

The model (pure functions on arrays, no ORM):
- `interaction_matrix`: contacts × products, a scipy.sparse CSR matrix of implicit feedback, each
  view weighing VIEW, each add-to-cart CART and each purchased line PURCHASE, every one decayed by
  its age (half-life HALF_LIFE_DAYS): sum over the contact's events of weight · 2^(-age / half-life).
- `cosine_neighbours`: item-item cosine similarity of the matrix's columns, shrunk toward zero when
  few contacts share the pair (cosine · n / (n + SHRINK), n the contacts who touched both: one
  contact who viewed two niche items does not make them twins), the TOP_K best neighbours of each
  product kept. Computed in blocks of columns, so memory follows the pairs that co-occur, never
  products².
- The same on orders × products (one row per order, 1 per line): `bought_together`.
- `trending_scores`: recent growth, (last 7 days + A) / (the 28 days before, per week, + A), the
  smoothing A keeping one recent view of an unknown product from topping the list.

Why scipy.sparse: the data are a few events per contact over thousands of products (far under 1%
of the cells), X.T @ X of a CSR/CSC matrix is a compiled sparse product that touches only the pairs
that co-occur, and scipy is already a dependency (the customer-value fit). An ANN index or an
implicit-ALS library would add a dependency for no gain at this size: top-20 neighbours per product
is exact here in seconds.

`fit_workspace(workspace_id, now=None)` reads the workspace's Product Viewed / Product Added track
events and its orders of the last WINDOW_DAYS, fits, and stores one ProductSimilarity row per
(product, neighbour, signal) under a new PredictionFit (kind "similarity"; its params carry the
trending and popular lists). The new rows are written, then the previous fits' rows deleted, in one
transaction: a render reads the rows of the latest done fit only, so it sees the old set or the new
one, never a mix. `task_fit` / `fit_all` are the django-q2 entry points.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import numpy as np
from django.db import transaction
from scipy import sparse

from accounts.models import Workspace

from .. import clock, kicks
from ..customers.commerce import product_key
from ..models import Event, Order, PredictionFit, ProductSimilarity
from . import runs

log = logging.getLogger(__name__)

VIEW, CART, PURCHASE = 1.0, 3.0, 5.0  # implicit-feedback weight of a view, an add-to-cart, a bought line
HALF_LIFE_DAYS = 30.0  # an event's weight halves every month
WINDOW_DAYS = 180  # events and orders older than this are not read
TOP_K = 20  # neighbours kept per product and signal
# cosine · n / (n + SHRINK), n = contacts (or orders) that hold both products; 10 did best of 0, 3, 10
# on bench/recommend.py's generated shop (hit rate@4 of "similar" 0.17, 0.19, 0.21).
SHRINK = 10.0
TRENDING_SMOOTHING = 3.0  # A in (recent + A) / (before per week + A)
TRENDING_DAYS, TRENDING_BEFORE_DAYS = 7, 28
KEPT = 100  # products kept in the fit's trending and popular lists
BLOCK = 2048  # products per block of the similarity product
CHUNK = 2000  # rows written per query
MIN_CONTACTS = 2  # below this there is nothing to learn: the fit refuses (and keeps the old rows)
TRACKED = {"Product Viewed": VIEW, "Product Added": CART}
TASK_TIMEOUT = 30 * 60
KEEP_FITS = timedelta(days=30)  # older similarity fits (rows without similarities by then) are deleted


# -- the model: pure functions on arrays -------------------------------------------------------------


def decay(ages_days, half_life_days=HALF_LIFE_DAYS):
    """2^(-age / half-life), ages in days (negative ages count as 0)."""
    return np.power(0.5, np.maximum(np.asarray(ages_days, dtype=np.float64), 0.0) / half_life_days)


def interaction_matrix(rows, cols, weights, shape):
    """A CSR matrix with the sum of `weights` at each (row, col) (duplicates add up)."""
    matrix = sparse.csr_matrix(
        (np.asarray(weights, dtype=np.float64), (np.asarray(rows), np.asarray(cols))), shape=shape
    )
    matrix.sum_duplicates()
    return matrix


def cosine_neighbours(matrix, k=TOP_K, shrink=SHRINK, block=BLOCK):
    """The `k` most similar columns of each column of `matrix` (rows = contacts or orders, columns =
    products): cosine of the columns, times n / (n + shrink) with n the rows where both are nonzero.
    Returns (item, neighbour, score) arrays, each item's neighbours best first, zero scores left out."""
    x = sparse.csc_matrix(matrix, dtype=np.float64)
    x.eliminate_zeros()
    n_items = x.shape[1]
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
    inverse = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    normed = (x @ sparse.diags(inverse)).tocsc()
    binary = x.copy()
    binary.data[:] = 1.0
    items, neighbours, scores = [], [], []
    for start in range(0, n_items, block):
        stop = min(start + block, n_items)
        cosine = (normed[:, start:stop].T @ normed).tocsr()
        if shrink:
            together = (binary[:, start:stop].T @ binary).tocsr()
            together.data = together.data / (together.data + shrink)
            cosine = cosine.multiply(together).tocsr()
        _zero_diagonal(cosine, start)
        # Rounded: the same data read in another order give the same ranking (ties stay ties).
        cosine.data = np.round(cosine.data, 9)
        cosine.eliminate_zeros()
        for row in range(cosine.shape[0]):
            lo, hi = cosine.indptr[row], cosine.indptr[row + 1]
            if lo == hi:
                continue
            data, cols = cosine.data[lo:hi], cosine.indices[lo:hi]
            if hi - lo > k:
                best = np.argpartition(-data, k - 1)[:k]
                data, cols = data[best], cols[best]
            order = np.lexsort((cols, -data))
            items.append(np.full(len(order), start + row, dtype=np.int64))
            neighbours.append(cols[order].astype(np.int64))
            scores.append(data[order])
    if not items:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(items), np.concatenate(neighbours), np.concatenate(scores)


def _zero_diagonal(block_matrix, start):
    """Zero each product's similarity to itself in a block of rows starting at column `start`."""
    for row in range(block_matrix.shape[0]):
        lo, hi = block_matrix.indptr[row], block_matrix.indptr[row + 1]
        hit = np.nonzero(block_matrix.indices[lo:hi] == start + row)[0]
        block_matrix.data[lo + hit] = 0.0


def trending_scores(recent, before, smoothing=TRENDING_SMOOTHING, weeks_before=TRENDING_BEFORE_DAYS / 7):
    """(recent + A) / (before / weeks + A) per product: counts of the last week against the weekly
    rate of the weeks before."""
    recent, before = np.asarray(recent, dtype=np.float64), np.asarray(before, dtype=np.float64)
    return (recent + smoothing) / (before / weeks_before + smoothing)


def ranked(skus, scores, keep=KEPT, minimum=None):
    """[[sku, score], ...] best first (ties by sku), at most `keep`, scores above `minimum`."""
    order = sorted(range(len(skus)), key=lambda i: (-scores[i], skus[i]))
    return [[skus[i], round(float(scores[i]), 6)] for i in order if minimum is None or scores[i] > minimum][:keep]


# -- reading and writing -----------------------------------------------------------------------------


def sku_of(line):
    """The catalog key of an event's or an order line's product: its sku when it has one (the
    catalog is keyed by sku, as carts and the order statistics are), else commerce.product_key."""
    if not isinstance(line, dict):
        return None
    sku = line.get("sku")
    return str(sku) if sku not in (None, "") else product_key(line)


class Interactions:
    """What the fit reads: (contact, sku, weight, time) of views, carts and bought lines, and the
    orders' baskets."""

    def __init__(self):
        self.contacts, self.skus, self.weights, self.times = [], [], [], []
        self.baskets = []  # (order index, sku) of each bought line

    def add(self, contact_id, sku, weight, at):
        self.contacts.append(contact_id)
        self.skus.append(sku)
        self.weights.append(weight)
        self.times.append(at.timestamp())


def read_interactions(workspace_id, now, window_days=WINDOW_DAYS) -> Interactions:
    since = now - timedelta(days=window_days)
    data = Interactions()
    events = (
        Event.objects.filter(
            workspace_id=workspace_id,
            type="track",
            name__in=list(TRACKED),
            timestamp__gte=since,
            timestamp__lte=now,
            contact__isnull=False,
        )
        .values_list("contact_id", "name", "properties", "timestamp")
        .iterator(chunk_size=5000)
    )
    for contact_id, name, properties, at in events:
        sku = sku_of(properties or {})
        if sku:
            data.add(contact_id, sku, TRACKED[name], at)
    orders = (
        Order.objects.filter(workspace_id=workspace_id, placed_at__gte=since, placed_at__lte=now)
        .exclude(status="cancelled")
        .order_by("id")
        .values_list("contact_id", "products", "placed_at")
        .iterator(chunk_size=2000)
    )
    for n, (contact_id, products, at) in enumerate(orders):
        for sku in dict.fromkeys(sku_of(line) for line in products or []):
            if sku:
                data.add(contact_id, sku, PURCHASE, at)
                data.baskets.append((n, sku))
    return data


def learn(data: Interactions, now):
    """The fit on what was read: (rows to store as (sku, similar_sku, signal, score), params, quality)."""
    contact_ids, contact_index = np.unique(np.asarray(data.contacts, dtype=np.int64), return_inverse=True)
    sku_names, sku_index = np.unique(np.asarray(data.skus, dtype=object).astype(str), return_inverse=True)
    times = np.asarray(data.times, dtype=np.float64)
    ages = (now.timestamp() - times) / 86400.0
    weights = np.asarray(data.weights, dtype=np.float64) * decay(ages, HALF_LIFE_DAYS)
    matrix = interaction_matrix(contact_index, sku_index, weights, (len(contact_ids), len(sku_names)))
    rows = []
    for signal, (items, neighbours, scores) in (
        (ProductSimilarity.Signal.BEHAVIOUR, cosine_neighbours(matrix, TOP_K, SHRINK)),
        (ProductSimilarity.Signal.BOUGHT_TOGETHER, _bought_together(data, sku_names)),
    ):
        rows += [
            (sku_names[i], sku_names[j], signal, float(s)) for i, j, s in zip(items, neighbours, scores, strict=True)
        ]
    recent = ages < TRENDING_DAYS
    before = (ages >= TRENDING_DAYS) & (ages < TRENDING_DAYS + TRENDING_BEFORE_DAYS)
    counts_recent = np.bincount(sku_index[recent], minlength=len(sku_names))
    counts_before = np.bincount(sku_index[before], minlength=len(sku_names))
    trending = trending_scores(counts_recent, counts_before)
    purchases = np.asarray(data.weights) == PURCHASE
    popular = np.bincount(sku_index[purchases], weights=decay(ages[purchases]), minlength=len(sku_names))
    names = [str(s) for s in sku_names]
    params = {
        "weights": {"view": VIEW, "cart": CART, "purchase": PURCHASE},
        "half_life_days": HALF_LIFE_DAYS,
        "top_k": TOP_K,
        "shrink": SHRINK,
        # Products with activity in the last week only: growth of nothing is no trend.
        "trending": ranked(names, np.where(counts_recent > 0, trending, 0.0), minimum=1.0),
        "popular": ranked(names, popular, minimum=0.0),
    }
    quality = {
        "contacts": len(contact_ids),
        "products": len(sku_names),
        "interactions": len(data.skus),
        "orders": len({n for n, _ in data.baskets}),
        "density": round(matrix.nnz / max(1, matrix.shape[0] * matrix.shape[1]), 6),
        "rows": len(rows),
    }
    return rows, params, quality


def _bought_together(data, sku_names):
    if not data.baskets:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    orders = np.asarray([n for n, _ in data.baskets], dtype=np.int64)
    columns = np.searchsorted(sku_names, np.asarray([s for _, s in data.baskets], dtype=object).astype(str))
    baskets = interaction_matrix(orders, columns, np.ones(len(orders)), (int(orders.max()) + 1, len(sku_names)))
    baskets.data[:] = 1.0  # a product once per order
    return cosine_neighbours(baskets, TOP_K, SHRINK)


def fit_workspace(workspace_id, now=None, window_days=WINDOW_DAYS) -> PredictionFit:
    """Fit the workspace's product similarities and replace the previous fit's rows. Returns the
    PredictionFit: done, refused (too little data; the previous rows stay), or failed."""
    now = now or clock.now()

    def work(fit, now):
        data = read_interactions(workspace_id, now, window_days)
        if len(set(data.contacts)) < MIN_CONTACTS or len(set(data.skus)) < 2:
            runs.finish(
                fit,
                PredictionFit.Status.REFUSED,
                message=f"Too little behaviour to learn from: at least {MIN_CONTACTS} contacts who viewed, "
                "carted or bought two products are needed.",
                quality={"contacts": len(set(data.contacts)), "products": len(set(data.skus))},
            )
            return
        rows, params, quality = learn(data, now)
        store(fit, rows, params, quality)

    return runs.run(workspace_id, PredictionFit.Kind.SIMILARITY, now, work)


def store(fit, rows, params, quality):
    """Write the new rows, delete every other fit's rows and mark the fit done, in one transaction.
    The workspace row is locked first: two fits that overlap (the ORM broker may run a task twice)
    would otherwise each delete only the rows committed before them and both sets would stay."""
    with transaction.atomic():
        Workspace.objects.select_for_update().filter(pk=fit.workspace_id).first()
        objects = (
            ProductSimilarity(
                workspace_id=fit.workspace_id, sku=sku, similar_sku=similar, signal=signal, score=score, fit=fit
            )
            for sku, similar, signal, score in rows
        )
        while batch := [o for _, o in zip(range(CHUNK), objects, strict=False)]:
            ProductSimilarity.objects.bulk_create(batch)
        ProductSimilarity.objects.filter(workspace_id=fit.workspace_id).exclude(fit=fit).delete()
        runs.finish(fit, PredictionFit.Status.DONE, params=params, quality=quality)
        # An hourly fit leaves a row an hour: the month's are kept, for the fits' history.
        PredictionFit.objects.filter(
            workspace_id=fit.workspace_id, kind=PredictionFit.Kind.SIMILARITY, started_at__lt=fit.started_at - KEEP_FITS
        ).delete()


def latest_fit(workspace_id):
    """The workspace's latest done similarity fit, or None."""
    return (
        PredictionFit.objects.filter(
            workspace_id=workspace_id, kind=PredictionFit.Kind.SIMILARITY, status=PredictionFit.Status.DONE
        )
        .order_by("-finished_at", "-id")
        .first()
    )


# -- django-q2 entry points --------------------------------------------------------------------------


def task_fit(workspace_id):
    """Fit one workspace's product similarities now."""
    fit_workspace(workspace_id)


def fit_all():
    """Scheduled (hourly): one fit task per workspace with product events or orders in the window
    (one indexed existence check per workspace)."""
    since = clock.now() - timedelta(days=WINDOW_DAYS)
    for workspace_id in Workspace.objects.order_by("pk").values_list("pk", flat=True):
        events = Event.objects.filter(workspace_id=workspace_id, name__in=list(TRACKED), timestamp__gte=since)
        orders = Order.objects.filter(workspace_id=workspace_id, placed_at__gte=since)
        if events.exists() or orders.exists():
            kicks.enqueue("journeys.predictions.similar.task_fit", workspace_id, timeout=TASK_TIMEOUT)
