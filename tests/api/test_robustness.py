"""Odd input to the REST API is a 400 naming what is wrong, never a 500: paging parameters, bodies
nested too deep or not objects, ids no database integer holds, unknown paths."""

import pytest

from accounts.pagination import MAX_LIMIT
from journeys.customers import catalog
from journeys.models import PriceChange, Product

HUGE = "99999999999999999999"


@pytest.fixture
def client(api, admin):
    return api(admin)


def list_endpoints(client):
    """Every paginated list of the OpenAPI schema, without path parameters."""
    document = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = []
    for path, operations in document["paths"].items():
        answer = operations.get("get", {}).get("responses", {}).get("200", {})
        ref = answer.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
        if "{" not in path and ref.split("/")[-1].startswith("Paginated"):
            paths.append(path)
    assert len(paths) >= 10, paths
    return paths


def test_a_huge_limit_is_clamped_on_every_list_endpoint(client):
    for path in list_endpoints(client):
        response = client.get(f"{path}?limit={HUGE}")
        assert response.status_code == 200, (path, response.content[:300])
        assert len(response.json()["results"]) <= MAX_LIMIT


def test_a_limit_over_the_maximum_gives_a_page_of_the_maximum(client, workspace):
    products = [{"sku": f"S{n:04d}", "name": f"P{n}", "price": 1} for n in range(MAX_LIMIT + 5)]
    catalog.upsert_products(workspace, products)
    page = client.get("/api/products?limit=100000").json()
    assert page["count"] == MAX_LIMIT + 5
    assert len(page["results"]) == MAX_LIMIT
    assert f"limit={MAX_LIMIT}" in page["next"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=abc", "limit"),
        ("limit=-5", "limit"),
        ("limit=0", "limit"),
        ("offset=x", "offset"),
        ("offset=-1", "offset"),
    ],
)
def test_a_limit_or_offset_that_is_not_a_whole_number_is_a_400_naming_it(client, query, field):
    for path in list_endpoints(client):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, response.content[:300])
        assert list(response.json()["fields"]) == [field]


def test_a_huge_offset_is_an_empty_page(client, workspace):
    catalog.upsert_products(workspace, [{"sku": "A", "name": "A", "price": 1}])
    page = client.get(f"/api/products?offset={HUGE}").json()
    assert page["count"] == 1 and page["results"] == []


def test_the_recent_events_limit_is_checked(client):
    response = client.get("/api/events/recent?limit=abc")
    assert response.status_code == 400
    assert "limit" in response.json()["fields"]
    assert client.get(f"/api/events/recent?limit={HUGE}").status_code == 200


def test_patching_a_product_with_an_empty_object_changes_nothing(client, workspace):
    catalog.upsert_products(workspace, [{"sku": "A1", "name": "Shoe", "price": "10.00", "tags": ["run"]}])
    product = Product.objects.get()
    before = client.get(f"/api/products/{product.id}").json()
    response = client.patch(f"/api/products/{product.id}", {}, format="json")
    assert response.status_code == 200
    assert response.json() == before
    assert PriceChange.objects.count() == 1  # the creation's, no other


def test_a_body_nested_deeper_than_the_limit_is_a_400(client):
    deep = '{"name": "x", "definition": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}"
    response = client.generic("POST", "/api/journeys", deep, content_type="application/json")
    assert response.status_code == 400
    assert "deeper than 64" in response.json()["error"]


@pytest.mark.parametrize("path", ["/api/auth/switch-workspace", "/api/auth/password-reset", "/api/journeys/import"])
def test_a_body_that_is_not_an_object_is_a_400(client, path):
    response = client.generic("POST", path, "[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "The body must be a JSON object."


def test_an_id_no_database_integer_holds_is_a_400_naming_the_field(client):
    response = client.post("/api/auth/switch-workspace", {"workspace": 10**30}, format="json")
    assert response.status_code == 400
    assert "workspace" in response.json()["fields"]


def test_an_unknown_api_path_answers_in_the_error_shape(client):
    for method in ("get", "post"):
        response = getattr(client, method)("/api/journeys/not-a-number")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_a_nul_character_in_a_query_is_a_400(client):
    # PostgreSQL stores no NUL in text; SQLite does, so this answered a 500 on PostgreSQL only.
    response = client.get("/api/products?search=a%00b")
    assert response.status_code in (200, 400)
    response = client.post("/api/auth/password-reset", {"email": "a\x00@example.com"}, format="json")
    assert response.status_code in (200, 400)


def test_a_nul_character_inside_a_journey_definition_is_a_400_and_nothing_is_stored(api, marketer):
    # Found by schemathesis on PostgreSQL: jsonb refuses "\u0000", which answered a 500 there.
    client = api(marketer)
    journey = client.post("/api/journeys", {"name": "Cart"}, format="json").json()
    body = {"definition": {"nodes": [], "\x00key": {"a": "b\x00"}}, "revision": journey["draft_revision"]}
    response = client.put(f"/api/journeys/{journey['id']}/draft", body, format="json")
    assert response.status_code == 400, response.content
    assert "NUL character" in response.json()["error"]
    assert client.get(f"/api/journeys/{journey['id']}").json()["draft_revision"] == journey["draft_revision"]
