"""Compile once + Liquid per contact gives the same email as Liquid then MJML per message."""

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delivery import rendering
from delivery.tracking import LinkTracker, click_key
from journeys.liquid import PERSONA, Persona

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


LINKED = (
    '<mjml><mj-body><mj-section><mj-column><mj-text><a href="{{ contact.url }}">Shop</a> now</mj-text>'
    "</mj-column></mj-section></mj-body></mjml>"
)


def test_a_link_whose_url_renders_empty_adds_nothing_to_the_text_part_as_per_message():
    compiled = rendering.prepare(rendering.compile_template(LINKED, "Hi"))
    cases = [
        ("", "Shop now"),
        ("mailto:a@b.example", "Shop now"),
        ("https://shop.example/x", "Shop (https://shop.example/x) now"),
    ]
    for url, shown in cases:
        data = {"contact": {"url": url}, PERSONA: Persona()}
        once = rendering.render_email(compiled, data)
        per_message = rendering.render_per_message(LINKED, "Hi", data)
        assert words(once.text) == words(per_message.text) == shown
