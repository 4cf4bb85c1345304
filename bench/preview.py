"""Live preview latency: an edit sent over the websocket to every subject's variant received.

    .venv/bin/python bench/preview.py                                # SQLite (a fresh database in a temp dir)
    DATABASE_URL=postgres://... .venv/bin/python bench/preview.py    # PostgreSQL
    BENCH_EDITS=100 .venv/bin/python bench/preview.py

Starts uvicorn (one process, as the Procfile does) on a free port, creates a workspace, a marketer,
the reference template's catalog and 50 personas with different carts, countries and locales,
logs in, opens a preview of the reference template (/work/shared/bench/cart_abandonment.mjml) for
1, 10 and 50 subjects, then sends edits one at a time (each one a different source, so each is
compiled: a keystroke in the editor) and times, in this client, from sending the edit to receiving
the "rendered" message that follows the last variant. Prints p50/p95 per size and the server's
own share; never fails on time. Target (issue 7): p95 under 50 ms for 10 subjects.
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import free_port  # noqa: E402

SHARED = Path(os.environ.get("WAYLINE_SHARED", "/work/shared/bench"))
EDITS = int(os.environ.get("BENCH_EDITS", 60))
WARMUP = 5
SIZES = (1, 10, 50)
COUNTRIES = [("DE", "Berlin", "Europe/Berlin", "de_DE"), ("GB", "London", "Europe/London", "en_GB"),
             ("US", "", "America/New_York", "en_US"), ("FR", "Paris", "Europe/Paris", "fr_FR")]  # fmt: skip


def setup_environment():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wayline.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("REDIS_URL", "")
    if not os.environ.get("DATABASE_URL"):
        os.environ["WAYLINE_VAR_DIR"] = tempfile.mkdtemp(prefix="wayline-bench-")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed():
    """A workspace with the reference catalog, 50 personas and a logged-in marketer's session."""
    from django.test import Client

    from accounts import actions
    from accounts.models import Membership, Role
    from editor.models import Persona
    from journeys.models import Product
    from tests.factories import make_user

    workspace = actions.create_workspace(f"Preview bench {time.time_ns()}")
    user = make_user(f"bench-{time.time_ns()}@example.com")
    Membership.objects.create(workspace=workspace, user=user, role=Role.MARKETER)
    context = json.loads((SHARED / "cart_context.json").read_text())
    products = context["cart"]["items"] + context["recommendations"]
    for item in products:
        Product.objects.create(
            workspace=workspace,
            sku=item["sku"],
            name=item["name"],
            url=item["url"],
            image_url=item["image_url"],
            price=item.get("live_price", item["price"]),
            stock=item.get("stock", 50),
            category="running",
        )
    personas = []
    for n in range(max(SIZES)):
        country, city, zone, locale = COUNTRIES[n % len(COUNTRIES)]
        items = [
            {"sku": p["sku"], "quantity": 1 + (n + i) % 3, "price": p["price"]}
            for i, p in enumerate(context["cart"]["items"][: n % 4])
        ]
        personas.append(
            Persona.objects.create(
                workspace=workspace,
                name=f"Persona {n}",
                traits={"first_name": f"Name{n}"},
                country=country,
                city=city,
                timezone=zone,
                locale=locale,
                cart_items=items,
            ).pk
        )
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value, personas


def start_server(port):
    process = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/uvicorn"),
            "wayline.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=dict(os.environ),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("uvicorn did not start")


def receive(ws, wanted, seq=None):
    """Messages until the first of type `wanted` (for `seq`); returns (that message, variants seen)."""
    variants = 0
    while True:
        message = json.loads(ws.recv(timeout=30))
        if message["type"] == "variant":
            variants += 1
        elif message["type"] == "error":
            raise RuntimeError(message)
        if message["type"] == wanted and (seq is None or message.get("seq") == seq):
            return message, variants


def cpu_seconds(pid):
    """User + system CPU time of a process so far (Linux /proc), to show the work per edit apart
    from waiting for a busy machine's cores."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_size(url, cookie, personas, size, source, seq_start):
    from websockets.sync.client import connect

    with connect(url, origin="http://127.0.0.1", additional_headers={"Cookie": f"sessionid={cookie}"}) as ws:
        receive(ws, "ready")
        ws.send(json.dumps({"type": "open", "scratch": True}))
        receive(ws, "opened")
        ws.send(json.dumps({"type": "subjects", "subjects": [{"persona": p} for p in personas[:size]]}))
        receive(ws, "rendered")
        client_ms, server_ms, seq = [], [], seq_start
        for n in range(WARMUP + EDITS):
            seq += 1
            # Each edit changes the source, as typing does: every one is compiled, none is cached.
            mjml = source.replace("you left something behind", f"you left something behind ({seq})")
            edit = {"type": "edit", "seq": seq, "mjml": mjml, "subject": f"{{{{ contact.first_name }}}}, edit {seq}"}
            started = time.perf_counter()
            ws.send(json.dumps(edit))
            done, variants = receive(ws, "rendered", seq)
            elapsed = (time.perf_counter() - started) * 1000
            if not done["ok"] or variants != size:
                raise RuntimeError(f"edit {seq}: {variants} variants of {size}, {done}")
            if n >= WARMUP:
                client_ms.append(elapsed)
                server_ms.append(done["ms"])
    return client_ms, server_ms, seq


def main():
    setup_environment()
    cookie, personas = seed()
    port = free_port()
    server = start_server(port)
    source = (SHARED / "cart_abandonment.mjml").read_text()
    url = f"ws://127.0.0.1:{port}/ws/preview/"
    database = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
    layer = "channels-redis" if os.environ.get("REDIS_URL") else "in-memory layer"
    print(f"Live preview: edit -> all variants received, reference template, {EDITS} edits per size")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"one uvicorn process, {database}, {layer}, {os.cpu_count()} cores, load average {load}")
    print(
        f"{'subjects':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'server p50':>11} {'server p95':>11}"
        f" {'CPU ms/edit':>12}"
    )
    seq = 0
    try:
        for size in SIZES:
            cpu_before = cpu_seconds(server.pid)
            client_ms, server_ms, seq = run_size(url, cookie, personas, size, source, seq)
            cpu_ms = (cpu_seconds(server.pid) - cpu_before) * 1000 / (WARMUP + EDITS)
            print(
                f"{size:>8} {statistics.median(client_ms):>8.1f} {percentile(client_ms, 0.95):>8.1f} "
                f"{max(client_ms):>8.1f} {statistics.median(server_ms):>11.1f} {percentile(server_ms, 0.95):>11.1f}"
                f" {cpu_ms:>12.1f}"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
    print("Target: p95 under 50 ms for 10 subjects. 'server' is the render loop alone (compile + render + send);")
    print("'CPU ms/edit' is the server process's CPU time per edit (includes opening the session and its subjects),")
    print("what an edit costs when the machine's other processes leave it a core.")


if __name__ == "__main__":
    main()
