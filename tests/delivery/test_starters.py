"""Starter templates: every starter compiles and previews with sample data; a marketer copies one
into the workspace (with the blocks it includes); bad input is a 400 naming the field; QA cannot
create. The template picker's thumbnails render the latest versions."""

import base64
import io
import re

import pytest
from PIL import Image

from delivery import live_images, starters
from delivery.models import ContentBlock, Template

EXPECTED = {
    "cart-reminder",
    "welcome",
    "cross-sell",
    "win-back",
    "price-drop",
    "back-in-stock",
    "order-confirmation",
}


def test_the_gallery_holds_the_seven_starters():
    assert set(starters.STARTERS) == EXPECTED
    for starter in starters.STARTERS.values():
        assert starter.name and starter.description and starter.subject and "<mjml>" in starter.mjml


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_it_compiles_and_previews_every_starter_in_an_empty_workspace(workspace, key):
    rendered = starters.preview_starter(workspace, starters.STARTERS[key])
    assert "<html" in rendered.html.lower()
    assert "{{" not in rendered.html and "{%" not in rendered.html
    assert rendered.subject and "{{" not in rendered.subject


def test_the_order_confirmation_shows_the_order_its_products_and_total(workspace):
    rendered = starters.preview_starter(workspace, starters.STARTERS["order-confirmation"])
    assert "1042" in rendered.subject and "1042" in rendered.html
    assert "Canvas tote" in rendered.html and "Trail mug" in rendered.html
    assert "$101.50" in rendered.html


def test_it_lists_the_starters_with_a_rendered_preview(api, qa):
    response = api(qa).get("/api/templates/starters")
    assert response.status_code == 200, response.content
    rows = {row["key"]: row for row in response.json()}
    assert set(rows) == EXPECTED
    assert rows["price-drop"]["name"] == "Price drop"
    assert all(row["html"].lower().startswith("<!doctype html") or "<html" in row["html"] for row in rows.values())
    assert "Alex" in rows["welcome"]["html"]


def test_it_creates_a_template_from_a_starter_with_the_blocks_it_includes(api, marketer, workspace):
    response = api(marketer).post("/api/templates/from-starter", {"key": "price-drop"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "price-drop" and body["name"] == "Price drop"
    assert body["latest_version"]["number"] == 1
    assert body["latest_version"]["mjml"] == starters.STARTERS["price-drop"].mjml
    assert set(ContentBlock.objects.filter(workspace=workspace).values_list("name", flat=True)) == {
        "header",
        "footer",
        "free-shipping-dach",
    }
    again = api(marketer).post(
        "/api/templates/from-starter", {"key": "welcome", "slug": "hello", "name": "Hello"}, format="json"
    )
    assert again.status_code == 201, again.content
    assert again.json()["slug"] == "hello" and again.json()["name"] == "Hello"
    assert ContentBlock.objects.filter(workspace=workspace, name="product-grid").exists()


def test_an_order_confirmation_starter_is_transactional(api, marketer):
    response = api(marketer).post("/api/templates/from-starter", {"key": "order-confirmation"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["category"] == "transactional"


def test_it_keeps_the_workspaces_own_blocks(api, marketer, workspace):
    ContentBlock.objects.create(
        workspace=workspace,
        name="header",
        source="<mj-section><mj-column><mj-text>Ours</mj-text></mj-column></mj-section>",
    )
    assert api(marketer).post("/api/templates/from-starter", {"key": "back-in-stock"}, format="json").status_code == 201
    assert ContentBlock.objects.get(workspace=workspace, name="header").source.count("Ours") == 1


@pytest.mark.parametrize(
    "body,field",
    [
        ({"key": "nope"}, "key"),
        ({}, "key"),
        ({"key": "welcome", "slug": "not a slug!"}, "slug"),
    ],
)
def test_bad_input_is_refused_naming_the_field(api, marketer, body, field):
    response = api(marketer).post("/api/templates/from-starter", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]


def test_a_taken_slug_is_refused_naming_slug(api, marketer, workspace):
    client = api(marketer)
    assert client.post("/api/templates/from-starter", {"key": "welcome"}, format="json").status_code == 201
    response = client.post("/api/templates/from-starter", {"key": "win-back", "slug": "welcome"}, format="json")
    assert response.status_code == 400
    assert "slug" in response.json()["fields"]
    assert Template.objects.filter(workspace=workspace).count() == 1


def test_qa_cannot_create_from_a_starter(api, qa, workspace):
    response = api(qa).post("/api/templates/from-starter", {"key": "welcome"}, format="json")
    assert response.status_code == 403
    assert not Template.objects.filter(workspace=workspace).exists()


def test_thumbnails_render_the_latest_versions_and_search_by_name_or_slug(api, marketer, qa):
    client = api(marketer)
    for key in ("price-drop", "welcome", "back-in-stock"):
        assert client.post("/api/templates/from-starter", {"key": key}, format="json").status_code == 201
    listing = api(qa).get("/api/templates/thumbnails").json()
    assert listing["count"] == 3
    assert [row["name"] for row in listing["results"]] == ["Back in stock", "Price drop", "Welcome"]
    assert all("<html" in row["html"] for row in listing["results"])
    found = api(qa).get("/api/templates/thumbnails", {"search": "PRICE"}).json()
    assert [row["slug"] for row in found["results"]] == ["price-drop"]
    by_slug = api(qa).get("/api/templates/thumbnails", {"search": "back-in"}).json()
    assert [row["slug"] for row in by_slug["results"]] == ["back-in-stock"]


def test_a_thumbnail_is_rendered_once_per_version(api, marketer, workspace, monkeypatch):
    client = api(marketer)
    client.post("/api/templates/from-starter", {"key": "welcome"}, format="json")
    calls = []
    original = starters.actions.preview
    monkeypatch.setattr(starters.actions, "preview", lambda *a, **k: calls.append(1) or original(*a, **k))
    client.get("/api/templates/thumbnails")
    client.get("/api/templates/thumbnails")
    assert len(calls) == 1
    template = Template.objects.get(workspace=workspace, slug="welcome")
    client.patch(f"/api/templates/{template.id}", {"subject": "Changed"}, format="json")
    client.get("/api/templates/thumbnails")
    assert len(calls) == 2


@pytest.mark.parametrize("key", ["price-drop", "back-in-stock"])
def test_a_starters_live_image_shows_the_sample_product_in_a_workspace_without_a_catalog(workspace, key):
    """Its thumbnail draws the sample's price or stock, not the transparent pixel of a missing product."""
    rendered = starters.preview_starter(workspace, starters.STARTERS[key])
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', rendered.html)
    assert len(images) == 1
    png = base64.b64decode(images[0])
    assert png != live_images.PIXEL_PNG
    assert Image.open(io.BytesIO(png)).size == live_images.LIVE_IMAGE_SIZE
