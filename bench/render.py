"""Emails per second on one core for the reference template and context (issue 4).

(a) Liquid then MJML per message: Liquid renders the MJML source, the `mjml` package compiles it,
    the text part is made from the HTML, links are rewritten and the open pixel added.
(b) Compile once + Liquid per contact: the version's compiled, parsed template (cached per process)
    is rendered; the text part, link rewriting and the open pixel are included.
Both produce the same email (tests/delivery/test_equivalence.py proves it). Measured in the same
run, one process, one thread. Prints figures; never passes or fails on time.

    .venv/bin/python bench/render.py [--seconds 5]
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wayline.settings")

from delivery import rendering  # noqa: E402
from delivery.liquid_env import PERSONA, Persona  # noqa: E402
from delivery.tracking import LinkTracker, click_key  # noqa: E402

SHARED = Path(os.environ.get("WAYLINE_SHARED", ROOT.parent / "shared")) / "bench"
if not (SHARED / "cart_abandonment.mjml").exists():  # a clone without shared/ beside it
    SHARED = ROOT / "tests" / "delivery" / "reference"
SUBJECT = '{{ contact.first_name | default: "Hi" }}, your cart is waiting'


def rate(fn, seconds):
    fn()  # warm up
    count, start = 0, time.perf_counter()
    while True:
        fn()
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and count >= 3:
            return count / elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0, help="time spent measuring each way")
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

    a = rate(lambda: rendering.render_per_message(source, SUBJECT, context, tracker=tracker), args.seconds)
    b = rate(lambda: rendering.render_email(prepared, context, tracker), args.seconds)
    sizes = f"{len(once.html):,} bytes HTML, {len(once.text):,} text"
    print(f"reference template: {SHARED / 'cart_abandonment.mjml'} ({sizes})")
    print(f"compile once (protect, MJML, restore, parse): {compile_ms:.0f} ms")
    print(f"outputs equivalent: {same}")
    print(f"(a) Liquid then MJML per message:       {a:10.1f} emails/s")
    print(f"(b) compile once + Liquid per contact:  {b:10.1f} emails/s  (incl. links, pixel, text part)")
    print(f"ratio b/a: {b / a:.1f}x   (targets: b >= 2,000/s, b/a >= 50x)")
    print(f"load average during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
