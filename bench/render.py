"""Emails per second on one core for the reference template and context (issue 4).

(a) Liquid then MJML per message: Liquid renders the MJML source, the `mjml` package compiles it,
    the text part is made from the HTML, links are rewritten and the open pixel added.
(b) Compile once + Liquid per contact: the version's compiled, parsed template (cached per process)
    is rendered; the text part, link rewriting and the open pixel are included.
(floor) Bare Liquid: the same compiled template rendered, nothing else (what (b) would cost if
    links, pixel and text part cost nothing); `ratio b/floor` is how close (b) comes to it.
Rates are emails per CPU second of this process (one core, whatever else runs on the machine),
measured in interleaved rounds; wall-clock rates are shown beside them.
Both produce the same email (tests/delivery/test_equivalence.py proves it). Measured in the same
run, one process, one thread. Prints figures; never passes or fails on time.

    .venv/bin/python bench/render.py [--seconds 10] [--rounds 10]
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wayline.settings")

from delivery import rendering  # noqa: E402
from delivery.tracking import LinkTracker, click_key  # noqa: E402
from journeys.liquid import PERSONA, Persona  # noqa: E402
from journeys.liquid import render as bare_liquid  # noqa: E402

SHARED = Path(os.environ.get("WAYLINE_SHARED", ROOT.parent / "shared")) / "bench"
if not (SHARED / "cart_abandonment.mjml").exists():  # a clone without shared/ beside it
    SHARED = ROOT / "tests" / "delivery" / "reference"
SUBJECT = '{{ contact.first_name | default: "Hi" }}, your cart is waiting'


def measure(fn, seconds):
    """(emails per CPU second, emails per wall second) over one round of about `seconds`.

    CPU time (time.process_time) is what "on one core" means on a machine that other processes
    share: the time this process actually ran. Wall time is printed too."""
    count, wall, cpu = 0, time.perf_counter(), time.process_time()
    while True:
        fn()
        count += 1
        elapsed = time.perf_counter() - wall
        if elapsed >= seconds and count >= 2:
            return count / max(time.process_time() - cpu, 1e-9), count / elapsed


def interleaved(ways, seconds, rounds):
    """Rounds of each way in turn, so that a change of load on the machine hits every way alike."""
    results = {name: [] for name in ways}
    for _ in range(rounds):
        for name, fn in ways.items():
            results[name].append(measure(fn, seconds / rounds))
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0, help="time spent measuring each way")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds")
    args = parser.parse_args()
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    except (AttributeError, OSError):
        pass
    source = (SHARED / "cart_abandonment.mjml").read_text()
    context = json.loads((SHARED / "cart_context.json").read_text())
    context[PERSONA] = Persona(timezone="Europe/London", locale="en_US", currency="USD")
    tracker = LinkTracker(click_key("bench"), "https://wayline.example", "m_0123456789abcdef")

    started = time.perf_counter()
    compiled = rendering.compile_template(source, SUBJECT)
    prepared = rendering.prepare(compiled)
    compile_ms = (time.perf_counter() - started) * 1000

    per_message = rendering.render_per_message(source, SUBJECT, context, tracker=tracker)
    once = rendering.render_email(prepared, context, tracker)
    same = rendering.normalize_html(per_message.html) == rendering.normalize_html(once.html) and " ".join(
        per_message.text.split()
    ) == " ".join(once.text.split())

    ways = {
        "a": lambda: rendering.render_per_message(source, SUBJECT, context, tracker=tracker),
        "b": lambda: rendering.render_email(prepared, context, tracker),
        "floor": lambda: bare_liquid(prepared.body, context),
    }
    for fn in ways.values():
        fn()  # warm up
    results = interleaved(ways, args.seconds, args.rounds)
    cpu = {name: statistics.median(r[0] for r in rounds) for name, rounds in results.items()}
    wall = {name: statistics.median(r[1] for r in rounds) for name, rounds in results.items()}
    sizes = f"{len(once.html):,} bytes HTML, {len(once.text):,} text"
    print(f"reference template: {SHARED / 'cart_abandonment.mjml'} ({sizes})")
    print(f"compile once (protect, MJML, restore, parse): {compile_ms:.0f} ms")
    print(f"outputs equivalent: {same}")
    print(f"emails/s on one core (CPU time, median of {args.rounds} interleaved rounds; wall-clock in brackets):")
    print(f"(a) Liquid then MJML per message:      {cpu['a']:9.1f}   [{wall['a']:9.1f}]")
    print(
        f"(b) compile once + Liquid per contact: {cpu['b']:9.1f}   [{wall['b']:9.1f}]  (incl. links, pixel, text part)"
    )
    print(f"floor: bare Liquid, same template:     {cpu['floor']:9.1f}   [{wall['floor']:9.1f}]")
    print(f"ratio b/a: {cpu['b'] / cpu['a']:.1f}x   [{wall['b'] / wall['a']:.1f}x]   (target: b/a >= 100x)")
    print(f"ratio b/floor: {cpu['b'] / cpu['floor']:.2f}   [{wall['b'] / wall['floor']:.2f}]   (target: >= 0.8)")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
