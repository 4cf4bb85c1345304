"""The canvas's list of node types (frontend/src/journeys/nodeTypes.ts) is the server's list."""

import json
import re
from pathlib import Path

from journeys.engine.nodes import catalog

NODE_TYPES_TS = Path(__file__).resolve().parents[2] / "frontend" / "src" / "journeys" / "nodeTypes.ts"


def canvas_catalog():
    text = NODE_TYPES_TS.read_text()
    match = re.search(r"// BEGIN CATALOG\nexport const CATALOG = (\{.*?\}) as const;\n// END CATALOG", text, re.S)
    assert match, "nodeTypes.ts lost its BEGIN/END CATALOG block"
    return json.loads(match.group(1))


def test_it_lists_the_same_node_types_ports_and_config_as_the_server():
    assert canvas_catalog() == catalog()


def test_the_node_types_endpoint_serves_the_same_catalog(api, marketer):
    answer = api(marketer).get("/api/journeys/node-types")
    assert answer.status_code == 200
    assert answer.json() == canvas_catalog()
