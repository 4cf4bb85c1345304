"""Compile once + Liquid per contact gives the same email as Liquid then MJML per message."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delivery import rendering
from delivery.tracking import LinkTracker, click_key
from journeys.liquid import PERSONA, Persona
from journeys.liquid import render as sandbox_render

from .conftest import REFERENCE_MJML, REFERENCE_SUBJECT

COMPILED = rendering.prepare(rendering.compile_template(REFERENCE_MJML, REFERENCE_SUBJECT))

# The per-message baseline (the `mjml` port) writes attribute values back unescaped: a value with
# " < or > makes its HTML malformed (alt="a"b"). Compiled once, Liquid's autoescape gets those right
# (test_values_in_attributes_are_escaped_compiled_once). The equivalence is proven on everything else.
text = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters='"<>'), max_size=20)
money = st.decimals(min_value=Decimal("0.5"), max_value=Decimal("500"), places=2)
url = st.builds(lambda s: f"https://shop.example/p/{s}?a=1&b=2", st.from_regex(r"[A-Za-z0-9-]{1,8}", fullmatch=True))
item = st.fixed_dictionaries(
    {
        "name": text,
        "quantity": st.integers(1, 5),
        "price": money,
        "live_price": money,
        "stock": st.one_of(st.none(), st.integers(0, 50)),
        "url": url,
        "image_url": url,
    }
)
product = st.fixed_dictionaries({"name": text, "price": money, "url": url, "image_url": url})
context = st.fixed_dictionaries(
    {
        "contact": st.fixed_dictionaries(
            {
                "id": st.from_regex(r"c_[0-9]{1,6}", fullmatch=True),
                "first_name": st.one_of(st.just(""), text),
                "country": st.sampled_from(["DE", "GB", "US", "FR", ""]),
                "city": st.one_of(st.just(""), text),
            }
        ),
        "cart": st.fixed_dictionaries({"items": st.lists(item, max_size=4), "total": money}),
        "offer": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {
                    "code": st.from_regex(r"[A-Z0-9-]{4,12}", fullmatch=True),
                    "percent_off": st.integers(5, 50),
                    "expires_at": st.sampled_from(["2026-12-05T23:59:59Z", "2027-01-31T10:00:00Z"]),
                }
            ),
        ),
        "recommendations": st.lists(product, max_size=5),
        "links": st.just(
            {
                "unsubscribe": "https://wayline.example/t/u/T",
                "preferences": "https://wayline.example/t/p/T",
                "view_in_browser": "https://wayline.example/t/v/T",
            }
        ),
        PERSONA: st.builds(
            Persona,
            timezone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
            locale=st.sampled_from(["en_US", "de_DE", "fr_FR"]),
            currency=st.sampled_from(["USD", "EUR"]),
        ),
    }
)


def words(value):
    return " ".join(value.split())


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(context)
def test_compile_once_equals_liquid_then_mjml_per_message(data):
    tracker = LinkTracker(click_key("test"), "https://wayline.example", "tok")
    once = rendering.render_email(COMPILED, data, tracker)
    per_message = rendering.render_per_message(REFERENCE_MJML, REFERENCE_SUBJECT, data, tracker=tracker)
    assert rendering.normalize_html(once.html) == rendering.normalize_html(per_message.html)
    assert words(once.text) == words(per_message.text)
    assert once.subject == per_message.subject
    assert once.links == per_message.links


def test_values_in_attributes_are_escaped_compiled_once():
    data = {
        "contact": {"id": "c_1", "first_name": 'Bo "<b>"', "country": "GB", "city": ""},
        "cart": {"items": [], "total": Decimal("1")},
        "recommendations": [
            {"name": 'Cap "X" <new>', "price": Decimal("1"), "url": "https://x.test/a", "image_url": ""}
        ],
        "links": {},
        PERSONA: Persona(),
    }
    once = rendering.render_email(COMPILED, data)
    assert 'aria-label="Bo &#34;&lt;b&gt;&#34;, your cart is waiting"' in once.html
    assert 'alt="Cap &#34;X&#34; &lt;new&gt;"' in once.html
    assert once.subject == 'Bo "<b>", your cart is waiting'


# The one-pass render (render_email) against the string path (render, then split_parts), on a
# template whose links, text links and loops stand where the reference's do not: Liquid in a
# link's URL (whole, in part, over several outputs), a linked image with alt text, links in loops and
# conditions, our own links, a capture (which keeps the string path) and a marker in the data.
ONE_PASS_MJML = """<mjml><mj-body><mj-section><mj-column>
  <mj-text>Hi {{ contact.first_name }}, <a href="https://shop.example/?a=1&amp;b=2">our shop</a> &amp; more.</mj-text>
  <mj-text>{% for item in items %}<p><a href="{{ item.url }}">{{ item.name }}</a> then
    <a href="https://shop.example/p/{{ item.sku }}?ref={{ contact.id }}&amp;x=1">{{ item.name }} again</a>
    {% if item.sale %}<a href="https://shop.example/sale">Sale!</a>{% endif %}</p>{% endfor %}</mj-text>
  <mj-image href="https://shop.example/{{ contact.id }}" src="https://cdn.example/x.png"
    alt="{{ contact.first_name }}'s pick" />
  <mj-button href="{{ links.unsubscribe }}">Unsubscribe</mj-button>
  <mj-text><a href="mailto:help@shop.example">Write to us</a> or <a href="#top">top</a>.</mj-text>
  EXTRA
</mj-column></mj-section></mj-body></mjml>"""
CAPTURE = (
    '<mj-text>{% capture more %}<a href="https://shop.example/more">More</a>{% endcapture %}'
    "{{ more }}{{ more }}</mj-text>"
)
# A marker in the data (MARK) is where the paths differ: split_parts would take it for one of its
# own; the one-pass render drops it, as the per-message path does (the test after this one).
words_strategy = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters='"<>\x02'), max_size=12)
one_pass_data = st.fixed_dictionaries(
    {
        "contact": st.fixed_dictionaries(
            {"id": st.from_regex(r"c_[0-9]{1,4}", fullmatch=True), "first_name": words_strategy}
        ),
        "items": st.lists(
            st.fixed_dictionaries(
                {
                    "name": words_strategy,
                    "sku": st.from_regex(r"[A-Z0-9-]{1,8}", fullmatch=True),
                    "url": st.one_of(url, st.just("https://wayline.example/t/v/T")),
                    "sale": st.booleans(),
                }
            ),
            max_size=3,
        ),
        "links": st.just({"unsubscribe": "https://wayline.example/t/u/T"}),
        PERSONA: st.just(Persona()),
    }
)


def one_pass_tracker():
    return LinkTracker(click_key("test"), "https://wayline.example", "tok")


@pytest.mark.parametrize("extra", ["", CAPTURE], ids=["one pass", "capture"])
@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=one_pass_data)
def test_one_pass_render_equals_the_rendered_string_split(extra, data):
    """render_email renders the body once into both parts: the same body rendered to a string and
    split (split_parts) gives the same HTML, text part and links."""
    prepared = rendering.prepare(rendering.compile_template(ONE_PASS_MJML.replace("EXTRA", extra), "Hello"))
    assert prepared.one_pass == (extra == "")
    once = rendering.render_email(prepared, data, one_pass_tracker())
    split = rendering.split_parts(sandbox_render(prepared.body, data), one_pass_tracker())
    assert (once.html, once.text, once.links) == split
    assert "/t/c/tok?u=" in once.html and "\x02" not in once.html + once.text


def test_a_marker_in_the_data_is_dropped_not_taken_for_a_piece():
    prepared = rendering.prepare(rendering.compile_template(ONE_PASS_MJML.replace("EXTRA", ""), "Hello"))
    data = {"contact": {"id": "c_1", "first_name": f"Ada{rendering.MARK}x{rendering.MARK}lBo"}, "items": []}
    once = rendering.render_email(prepared, {**data, "links": {}, PERSONA: Persona()}, one_pass_tracker())
    assert "Hi AdaxlBo, our shop" in once.text and "Hi AdaxlBo, <a" in once.html
    assert rendering.MARK not in once.html + once.text
