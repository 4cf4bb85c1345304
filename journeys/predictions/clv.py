"""Customer value models, pure (numpy and scipy; no ORM, no I/O).

- BG/NBD (Fader, Hardie & Lee, "Counting Your Customers the Easy Way", Marketing Science 2005):
  while a customer is active, they buy at a steady rate λ (Poisson; λ varies across customers as
  Gamma(r, α)); after each purchase they may drop out for good with probability p (p varies as
  Beta(a, b)). Fitted on each customer's (x, t_x, T): x repeat purchases, the last one t_x weeks
  after the first, T weeks between the first purchase and the end of the calibration period.
- Gamma-Gamma (Fader, Hardie & Lee, "RFM and CLV", 2005; Colombo & Jiang 1999): the value of a
  customer's purchases varies around their own mean, and that mean varies across customers.
  Fitted on the customers with repeat purchases, from x and the mean value of those purchases.

Purchases are counted per distinct day, as in the papers: several orders on one day are one
purchase, worth their sum. Time is in weeks.

What we predict from them, per customer:
- `expected_purchases(t, ...)`: repeat purchases in the next t weeks (the paper's equation 10);
- `probability_alive(...)`: that the customer has not dropped out;
- `expected_order_value(...)`: the mean value of their future purchases;
- CLV over 365 days = expected purchases in the next 365 days × expected order value: a simple
  approximation, undiscounted (a year is short enough for discounting to matter little);
- churn risk from the probability of being active: high below 0.3, medium below 0.7, else low;
- the next order date: the last purchase plus the expected time between purchases
  (1 / the expected rate given their history); when that day has already passed, the same gap
  from today (a Poisson buyer has no memory). None when the churn risk is high.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from scipy import optimize, special

HIGH_RISK_BELOW = 0.3  # probability of being active under this: churn risk "high", no next order date
MEDIUM_RISK_BELOW = 0.7  # under this: "medium"; else "low"
YEAR_WEEKS = 365 / 7
NEXT_90_DAYS_WEEKS = 90 / 7
_LOG_BOUND = 15.0  # fitted parameters stay within e^-15 .. e^15


# -- the customers' summary -------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """One entry per customer with a purchase by the calibration end, in the order of `ids`."""

    ids: list
    x: np.ndarray  # repeat purchases: distinct purchase days minus 1
    t_x: np.ndarray  # weeks from the first purchase to the last
    T: np.ndarray  # weeks from the first purchase to the calibration end
    mean_value: np.ndarray  # mean value of the repeat purchases (0 without any)
    average_value: np.ndarray  # mean value of all purchases, the first included
    last_day: list  # the day of the last purchase (a date)
    end_day: date  # the calibration end's day

    def __len__(self):
        return len(self.ids)

    @property
    def repeaters(self) -> int:
        return int((self.x > 0).sum())


def day_of(moment) -> date:
    """The day of a purchase (UTC for an aware datetime)."""
    if isinstance(moment, datetime):
        return (moment.astimezone(UTC) if moment.tzinfo else moment).date()
    return moment


def summarize(
    order_times_by_customer: Mapping[object, Iterable],
    calibration_end,
    order_values_by_customer: Mapping[object, Iterable] | None = None,
) -> Summary:
    """(x, t_x, T) per customer from the times of their orders up to `calibration_end` (later
    ones are left out), and the mean purchase values when `order_values_by_customer` gives each
    order's value (in the same order as its times). Customers whose first order is after the end
    are left out."""
    end_day = day_of(calibration_end)
    ids, xs, recency, ages, means, averages, lasts = [], [], [], [], [], [], []
    for customer, times in order_times_by_customer.items():
        times = list(times)
        values = list(order_values_by_customer[customer]) if order_values_by_customer is not None else [0] * len(times)
        by_day: dict[date, float] = {}
        for moment, value in zip(times, values, strict=True):
            day = day_of(moment)
            if day <= end_day:
                by_day[day] = by_day.get(day, 0.0) + float(value or 0)
        if not by_day:
            continue
        days = sorted(by_day)
        first, last = days[0], days[-1]
        ids.append(customer)
        xs.append(len(days) - 1)
        recency.append((last - first).days / 7)
        ages.append((end_day - first).days / 7)
        repeat = [by_day[d] for d in days[1:]]
        means.append(sum(repeat) / len(repeat) if repeat else 0.0)
        averages.append(sum(by_day.values()) / len(days))
        lasts.append(last)
    return Summary(
        ids=ids,
        x=np.asarray(xs, dtype=float),
        t_x=np.asarray(recency, dtype=float),
        T=np.asarray(ages, dtype=float),
        mean_value=np.asarray(means, dtype=float),
        average_value=np.asarray(averages, dtype=float),
        last_day=lasts,
        end_day=end_day,
    )


# -- BG/NBD -----------------------------------------------------------------------------------------


def bgnbd_loglik(params, x, t_x, T) -> np.ndarray:
    """Each customer's log-likelihood under BG/NBD (the paper's equation 6)."""
    r, alpha, a, b = params
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) - special.betaln(a, b)
    still = special.betaln(a, b + x) - (r + x) * np.log(alpha + T)
    repeat = x > 0
    dropped = np.full_like(x, -np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        dropped[repeat] = special.betaln(a + 1, b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    return common + np.logaddexp(still, dropped)


def _grouped(*columns):
    """The distinct rows of the columns and how many customers share each (a big workspace has
    many customers with the same few (x, t_x, T); the likelihood is computed once per row)."""
    rows, counts = np.unique(np.column_stack(columns), axis=0, return_counts=True)
    return [rows[:, i] for i in range(rows.shape[1])], counts.astype(float)


def _maximize(loglik, starts):
    """The parameters (positive) that maximize `loglik`, searched on their logarithms: L-BFGS-B
    from each start, the best kept; Nelder-Mead from there, then L-BFGS-B again, when it did not
    converge (a surface too flat or rough for the gradient steps)."""
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(starts[0])

    def negative(log_params):
        if np.any(np.abs(log_params) > _LOG_BOUND):
            return 1e300
        value = loglik(np.exp(log_params))
        return -value if np.isfinite(value) else 1e300

    def gradient_search(guess):
        return optimize.minimize(negative, guess, method="L-BFGS-B", bounds=bounds, options={"ftol": 1e-12})

    best = min((gradient_search(np.log(np.asarray(start, dtype=float))) for start in starts), key=lambda r: r.fun)
    if not best.success:
        simplex = optimize.minimize(negative, best.x, method="Nelder-Mead", options={"maxiter": 2000})
        best = min((best, simplex, gradient_search(simplex.x)), key=lambda r: r.fun)
    return np.exp(best.x), -best.fun


def fit_bgnbd(x, t_x, T) -> tuple[float, float, float, float, float]:
    """(r, alpha, a, b, log-likelihood): the maximum-likelihood BG/NBD parameters."""
    (gx, gt, gT), weight = _grouped(np.asarray(x, float), np.asarray(t_x, float), np.asarray(T, float))
    rate = max(float((gx * weight).sum() / max((gT * weight).sum(), 1e-9)), 1e-6)  # repeat purchases a week
    starts = [(1.0, 1.0 / rate, 1.0, 1.0), (0.25, 0.25 / rate, 0.8, 2.5), (2.0, 2.0 / rate, 2.0, 5.0)]
    (r, alpha, a, b), loglik = _maximize(lambda p: float((bgnbd_loglik(p, gx, gt, gT) * weight).sum()), starts)
    return float(r), float(alpha), float(a), float(b), float(loglik)


def _log_odds_dropped(x, t_x, T, params):
    """log of a/(b+x-1) · ((α+T)/(α+t_x))^(r+x): the odds that a customer with repeat purchases
    dropped out after the last one (-inf without repeat purchases: they cannot have)."""
    r, alpha, a, b = params
    out = np.full_like(x, -np.inf, dtype=float)
    repeat = x > 0
    xr = x[repeat]
    out[repeat] = np.log(a) - np.log(b + xr - 1) + (r + xr) * (np.log(alpha + T[repeat]) - np.log(alpha + t_x[repeat]))
    return out


def probability_alive(x, t_x, T, params) -> np.ndarray:
    """The probability that each customer is still active at the calibration end."""
    x, t_x, T = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (x, t_x, T))
    return special.expit(-_log_odds_dropped(x, t_x, T, params))


def expected_purchases(t, x, t_x, T, params) -> np.ndarray:
    """E[repeat purchases in the next t weeks | x, t_x, T] (the paper's equation 10):

        (a+b+x-1)/(a-1) · [1 - ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x-1; t/(α+T+t))]
        / (1 + δ(x>0) · a/(b+x-1) · ((α+T)/(α+t_x))^(r+x))

    Guarded: a = 1 is nudged; where the hypergeometric term overflows (many purchases), the
    same value by Pfaff's transformation, 1 - 2F1(r+x, a-1; a+b+x-1; -t/(α+T)); failing that,
    the active rate's expectation times the probability of being active."""
    r, alpha, a, b = params
    if abs(a - 1) < 1e-6:
        a = 1 + 1e-6
    x, t_x, T = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (x, t_x, T))
    t = float(t)
    with np.errstate(all="ignore"):
        z = t / (alpha + T + t)
        bracket = 1 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * special.hyp2f1(
            r + x, b + x, a + b + x - 1, z
        )
        bad = ~np.isfinite(bracket)
        if bad.any():
            bracket[bad] = 1 - special.hyp2f1(r + x[bad], a - 1, a + b + x[bad] - 1, -t / (alpha + T[bad]))
        expected = (a + b + x - 1) / (a - 1) * bracket * probability_alive(x, t_x, T, (r, alpha, a, b))
        bad = ~np.isfinite(expected) | (expected < 0)
        if bad.any():
            alive = probability_alive(x[bad], t_x[bad], T[bad], (r, alpha, a, b))
            expected[bad] = alive * t * (r + x[bad]) / (alpha + T[bad])
    return expected


def expected_gap_weeks(x, T, params) -> np.ndarray:
    """The expected time between purchases of an active customer: 1 / E[λ | x, T] = (α+T)/(r+x)."""
    r, alpha, _, _ = params
    return (alpha + np.asarray(T, dtype=float)) / (r + np.asarray(x, dtype=float))


def population_purchases(t, params) -> float:
    """E[purchases in t weeks] of a new customer (the paper's equation 9), for checks."""
    r, alpha, a, b = params
    z = t / (alpha + t)
    return float((a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1, z)))


# -- Gamma-Gamma ------------------------------------------------------------------------------------


def gamma_gamma_loglik(params, x, mean_value) -> np.ndarray:
    """Each repeat customer's log-likelihood of the mean value of their x purchases."""
    p, q, v = params
    x, m = np.asarray(x, dtype=float), np.asarray(mean_value, dtype=float)
    return (
        special.gammaln(p * x + q)
        - special.gammaln(p * x)
        - special.gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(x * m + v)
    )


def fit_gamma_gamma(x, mean_value) -> tuple[float, float, float, float]:
    """(p, q, v, log-likelihood) on the customers with repeat purchases of a positive value."""
    x, m = np.asarray(x, dtype=float), np.asarray(mean_value, dtype=float)
    keep = (x > 0) & (m > 0)
    (gx, gm), weight = _grouped(x[keep], m[keep])
    scale = float(np.average(gm, weights=weight))
    starts = [(1.0, 1.0, 1.0), (4.0, 4.0, scale), (10.0, 3.0, scale / 2)]
    (p, q, v), loglik = _maximize(lambda params: float((gamma_gamma_loglik(params, gx, gm) * weight).sum()), starts)
    return float(p), float(q), float(v), float(loglik)


def expected_order_value(x, mean_value, params, fallback=0.0) -> np.ndarray:
    """E[the value of a purchase | x purchases of mean value m] = p(v + x·m) / (p·x + q - 1).
    Without repeat purchases that is the population's mean p·v / (q - 1). When q ≤ 1 the
    population's mean does not exist: the customer's own mean, else `fallback`."""
    p, q, v = params
    x, m = np.atleast_1d(np.asarray(x, dtype=float)), np.atleast_1d(np.asarray(mean_value, dtype=float))
    if q <= 1:
        return np.where(x > 0, m, fallback)
    return p * (v + x * m) / (p * x + q - 1)


# -- per customer -----------------------------------------------------------------------------------


def churn_risk(alive) -> list[str]:
    """The churn risk of each probability of being active: "high" below HIGH_RISK_BELOW, "medium"
    below MEDIUM_RISK_BELOW, else "low"."""
    return ["high" if p < HIGH_RISK_BELOW else "medium" if p < MEDIUM_RISK_BELOW else "low" for p in alive]


def next_order_day(last_day: date, today: date, gap_weeks: float, alive: float) -> date | None:
    """The last purchase plus the expected gap; when that is past, today plus the gap; None when
    the churn risk is high."""
    if alive < HIGH_RISK_BELOW or not np.isfinite(gap_weeks):
        return None
    gap = timedelta(days=round(float(gap_weeks) * 7))
    expected = last_day + gap
    return expected if expected >= today else today + gap


@dataclass(frozen=True)
class Prediction:
    """What the models say of one customer (see the module docstring)."""

    orders_next_90d: float
    probability_active: float
    clv_365d: float
    churn_risk: str
    next_order_date: date | None


def predict(summary: Summary, bgnbd_params, gamma_gamma_params) -> list[Prediction]:
    """Each customer's predictions, at the calibration end, in the order of `summary.ids`."""
    x, t_x, T = summary.x, summary.t_x, summary.T
    alive = probability_alive(x, t_x, T, bgnbd_params)
    next_90 = expected_purchases(NEXT_90_DAYS_WEEKS, x, t_x, T, bgnbd_params)
    next_year = expected_purchases(YEAR_WEEKS, x, t_x, T, bgnbd_params)
    fallback = float(summary.average_value.mean()) if len(summary) else 0.0
    value = expected_order_value(x, summary.mean_value, gamma_gamma_params, fallback)
    gaps = expected_gap_weeks(x, T, bgnbd_params)
    risks = churn_risk(alive)
    return [
        Prediction(
            orders_next_90d=float(next_90[i]),
            probability_active=float(alive[i]),
            clv_365d=float(next_year[i] * value[i]),
            churn_risk=risks[i],
            next_order_date=next_order_day(summary.last_day[i], summary.end_day, gaps[i], alive[i]),
        )
        for i in range(len(summary))
    ]


# -- in plain words ---------------------------------------------------------------------------------


def _times(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def explain(inputs: Mapping, orders_next_90d, probability_active, clv_365d, today: date, locale="en_US") -> str:
    """A contact's prediction in plain words, e.g. "3 orders in 20 weeks, the last 2 weeks ago:
    likely to order about 1.2 times in the next 90 days (82% likely still active). Expected to
    spend $54.00 in the next year." `inputs`: what the fit stored (fit.store_predictions)."""
    from babel.core import UnknownLocaleError
    from babel.numbers import format_currency

    orders = int(inputs.get("orders") or 0)
    if not orders or orders_next_90d is None or probability_active is None:
        return ""
    weeks = round(float(inputs.get("weeks_first_to_last") or 0))
    last = date.fromisoformat(inputs["last_order_on"])
    since = max(0, (today - last).days)
    ago = "this week" if since < 7 else _times(round(since / 7), "week ago", "weeks ago")
    history = (
        f"1 order, {ago}" if orders == 1 else f"{orders} orders in {_times(weeks, 'week', 'weeks')}, the last {ago}"
    )
    try:
        spend = format_currency(float(clv_365d or 0), inputs.get("currency") or "USD", locale=locale.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        spend = format_currency(float(clv_365d or 0), "USD", locale="en_US")
    return (
        f"{history}: likely to order about {float(orders_next_90d):.1f} times in the next 90 days "
        f"({round(float(probability_active) * 100)}% likely still active). "
        f"Expected to spend {spend} in the next year."
    )
