"""One Liquid sandbox for every template a marketer writes, and it cannot be made to exhaust memory
or CPU: every filter's result is bounded before it is built, ranges are bounded wherever they
stand, and the time bound is checked inside filters too. Tried through the preview API: any role
that may preview can send these (tests/engine/test_one_sandbox.py tries the engine's nodes)."""

import tracemalloc

import pytest

from .conftest import simple_mjml

REPLACE_EIGHT_TIMES = "{{ 'x'" + ' | replace: "x", "xxxxxxxxxx"' * 8 + " }}"
ATTACKS = {
    "a chain of replaces": (REPLACE_EIGHT_TIMES, "the result of “replace” is too large"),
    "joining a million numbers": ("{{ (1..1000000) | join }}", "has more than 10,000 items"),
    "reversing ten million numbers": ("{{ (1..10000000) | reverse | first }}", "has more than 10,000 items"),
    "printing a range": ("{{ (1..10000000) }}", "has more than 10,000 items"),
    "a range in a variable": ("{% assign r = (1..50000000) %}{{ r | size }}", "has more than 10,000 items"),
    "a list that doubles": (
        '{% assign a = "a,b" | split: "," %}{% for i in (1..60) %}{% assign a = a | concat: a %}{% endfor %}',
        "the result of “concat” is too large",
    ),
    "a number that squares": (
        "{% assign n = 2 %}{% for i in (1..60) %}{% assign n = n | times: n %}{% endfor %}{{ n }}",
        "the result of “times” is too large",
    ),
    "splitting into characters": ('{{ "x" | append: "yyyy" | split: "" | size }}', None),
}


@pytest.fixture
def template_id(api, marketer):
    body = {"slug": "t", "name": "T", "subject": "Hi", "mjml": simple_mjml("Hello")}
    return api(marketer).post("/api/templates", body, format="json").json()["id"]


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_crafted_preview_is_refused_quickly_with_the_limit_it_hit(api, qa, template_id, attack):
    source, expected = ATTACKS[attack]
    tracemalloc.start()
    response = api(qa).post(
        f"/api/templates/{template_id}/preview", {"mjml": simple_mjml(source), "subject": "Hi"}, format="json"
    )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert response.status_code in (200, 400), response.content
    text = response.content.decode()
    if expected is None:
        assert response.status_code == 200 and "5" in response.json()["text"]
    else:
        assert expected in text, text
    assert peak < 64 * 1024 * 1024  # the render never holds more than a few MB, whatever it asks for
