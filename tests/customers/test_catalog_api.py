from journeys.models import PriceChange, Product

TENT = {
    "sku": "T-1",
    "name": "Tent",
    "price": "199.00",
    "currency": "eur",
    "stock": 3,
    "category": "Tents",
    "tags": ["2p"],
}


def test_a_marketer_creates_edits_and_deletes_a_product(workspace, marketer, api):
    client = api(marketer)
    created = client.post("/api/products", TENT, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["currency"] == "EUR"
    product_id = created.json()["id"]
    edited = client.patch(f"/api/products/{product_id}", {"price": "149.00", "stock": 0}, format="json").json()
    assert edited["price"] == 149.0
    assert [(h["old_price"], h["new_price"]) for h in edited["price_history"]] == [
        ("199.00", "149.00"),
        (None, "199.00"),
    ]
    assert client.delete(f"/api/products/{product_id}").status_code == 204
    assert not Product.objects.exists()


def test_a_duplicate_sku_is_refused(workspace, marketer, api):
    api(marketer).post("/api/products", TENT, format="json")
    response = api(marketer).post("/api/products", TENT, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "duplicate_sku"


def test_bulk_upsert_creates_updates_and_records_price_changes(workspace, marketer, api):
    api(marketer).post("/api/products", TENT, format="json")
    response = api(marketer).post(
        "/api/products/bulk",
        {"products": [dict(TENT, price="179.00"), {"sku": "S-1", "name": "Socks", "price": 12}]},
        format="json",
    )
    assert response.json() == {"created": 1, "updated": 1}
    assert Product.objects.get(sku="T-1").price == 179
    assert PriceChange.objects.filter(product__sku="T-1").count() == 2


def test_bulk_upsert_validates_every_product(workspace, marketer, api):
    response = api(marketer).post("/api/products/bulk", {"products": [{"sku": "X", "name": "No price"}]}, format="json")
    assert response.status_code == 400
    assert not Product.objects.exists()


def test_search_and_categories(workspace, qa, marketer, api):
    api(marketer).post(
        "/api/products/bulk",
        {"products": [TENT, {"sku": "S-1", "name": "Wool socks", "price": 12, "category": "Socks"}]},
        format="json",
    )
    assert [p["sku"] for p in api(qa).get("/api/products?search=wool").json()["results"]] == ["S-1"]
    assert [p["sku"] for p in api(qa).get("/api/products?category=Tents").json()["results"]] == ["T-1"]
    assert api(qa).get("/api/products/categories").json()["results"] == ["Socks", "Tents"]


def test_qa_cannot_change_the_catalog(workspace, qa, api):
    assert api(qa).post("/api/products", TENT, format="json").status_code == 403
