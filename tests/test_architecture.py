"""The layout's rules, read off the imports of the code itself (design.md, "Layout"):

- apps depend one way only: accounts ← journeys ← delivery ← editor ← wayline;
- the engine (journeys/engine) and the Liquid sandbox (journeys/liquid.py) import no Django;
- the customer-data half (journeys/customers) reaches the journey side only through hooks;
- nothing imports a `tasks` module but app wiring (apps.py), and only journeys/kicks.py enqueues.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ["accounts", "journeys", "delivery", "editor", "wayline"]  # each may import only those before it
JOURNEY_SIDE = {
    "journeys.api",
    "journeys.drafts",
    "journeys.facts",
    "journeys.lifecycle",
    "journeys.loop",
    "journeys.publishing",
    "journeys.stats",
    "journeys.tasks",
    "journeys.triggers",
    "journeys.urls",
    "journeys.webhooks",
    "journeys.worker",
}


def modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            yield name.removesuffix(".__init__"), path


def imports_of(name, path):
    """Every module `name` imports, anywhere in it (functions too), as absolute dotted names."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


ALL = {name: imports_of(name, path) for name, path in modules()}


def app_of(module):
    return module.split(".", 1)[0]


def test_apps_import_only_the_apps_below_them():
    wrong = []
    for name, imported in ALL.items():
        rank = APPS.index(app_of(name))
        for target in imported:
            if app_of(target) in APPS and APPS.index(app_of(target)) > rank:
                wrong.append(f"{name} imports {target}")
    assert wrong == []


def test_the_engine_and_the_sandbox_import_no_django():
    pure = {
        name: imported
        for name, imported in ALL.items()
        if name.startswith("journeys.engine") or name == "journeys.liquid"
    }
    assert "journeys.engine.step" in pure and "journeys.engine.definition" in pure
    wrong = [
        f"{name} imports {target}"
        for name, imported in pure.items()
        for target in imported
        if app_of(target) == "django"
        or (
            app_of(target) in APPS
            and target != "journeys"  # `from .. import liquid`: the package itself imports nothing
            and not target.startswith(("journeys.engine", "journeys.liquid"))
        )
    ]
    assert wrong == [] and ALL["journeys"] == set()


def test_the_engine_runs_without_django_loaded():
    script = (
        "import sys\n"
        "import journeys.engine, journeys.engine.definition, journeys.engine.simulator, journeys.engine.library\n"
        "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "print(loaded)\n"
        "sys.exit(1 if loaded else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_customer_data_reaches_the_journey_side_only_through_hooks():
    wrong = [
        f"{name} imports {target}"
        for name, imported in ALL.items()
        if name.startswith("journeys.customers")
        for target in imported
        if any(target == side or target.startswith(side + ".") for side in JOURNEY_SIDE)
    ]
    assert wrong == []


@pytest.mark.parametrize("name", sorted(n for n in ALL if not n.endswith(".apps")))
def test_only_app_wiring_imports_a_tasks_module(name):
    tasks = {t for t in ALL[name] if t.endswith(".tasks") and app_of(t) in APPS}
    assert tasks == set(), f"{name} imports {tasks}: enqueue through journeys.kicks instead"


def test_only_kicks_enqueues_with_django_q():
    enqueuers = sorted(name for name, imported in ALL.items() if "django_q.tasks" in imported)
    assert enqueuers == ["journeys.kicks"]
