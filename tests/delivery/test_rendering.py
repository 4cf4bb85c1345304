"""Compile once, personalize per contact: where Liquid may stand, errors with line and column,
content blocks, and the sandbox's limits."""

import json

import pytest

from delivery import rendering
from journeys.liquid import PERSONA, Persona

from .conftest import REFERENCE_MJML, REFERENCE_SUBJECT, SHARED, simple_mjml


def render(mjml, data, subject="Hello", blocks=None, preheader=""):
    compiled = rendering.compile_template(mjml, subject, preheader, blocks or {})
    return rendering.render_email(rendering.prepare(compiled), {PERSONA: Persona(), **data})


def problems_of(mjml, subject="Hello", blocks=None):
    with pytest.raises(rendering.TemplateError) as caught:
        rendering.compile_template(mjml, subject, "", blocks or {})
    return caught.value.problems


def test_the_reference_template_renders_with_its_context():
    context = json.loads((SHARED / "cart_context.json").read_text())
    rendered = render(REFERENCE_MJML, context, subject=REFERENCE_SUBJECT)
    assert rendered.subject == "Ada, your cart is waiting"
    assert "<title>\n      Ada, your cart is waiting\n    </title>" in rendered.html
    assert "3 items are still in your cart" in rendered.html  # mj-preview
    assert rendered.html.count("Trail Running Shoe") >= 2
    assert "COMEBACK-7QX2" in rendered.text and "until Dec 05" in rendered.text
    assert "Pick it up today at our London store." in rendered.text
    assert "You might also like" in rendered.text and "Reflective Vest" in rendered.text
    assert "{{" not in rendered.html and "{%" not in rendered.html


def test_liquid_works_in_attributes_with_double_quotes_in_title_preview_and_around_sections():
    mjml = """<mjml><mj-head>
  <mj-title>{{ contact.first_name | default: "Friend" }} — "news"</mj-title>
  <mj-preview>{% if cart.items.size > 0 %}Your cart{% else %}Hello{% endif %}</mj-preview>
</mj-head><mj-body>
  <mj-section><mj-column>
    <mj-image src="https://x.test/{{ contact.id }}.png" alt="{{ contact.first_name | default: "there" }}" />
    <mj-text>{% for i in cart.items %}<p>{{ i.name }}</p>{% endfor %}</mj-text>
  </mj-column></mj-section>
  <mj-raw>{% if contact.vip %}</mj-raw>
  <mj-section><mj-column><mj-text>VIP lounge</mj-text></mj-column></mj-section>
  <mj-raw>{% endif %}</mj-raw>
</mj-body></mjml>"""
    anonymous = render(mjml, {"contact": {"id": 7}, "cart": {"items": []}})
    assert "<title>\n      Friend — &#34;news&#34;\n    </title>" in anonymous.html or "Friend — " in anonymous.html
    assert 'alt="there"' in anonymous.html
    assert "Hello" in anonymous.html and "VIP lounge" not in anonymous.html
    vip = render(
        mjml, {"contact": {"id": 8, "first_name": 'Bo "B"', "vip": True}, "cart": {"items": [{"name": "Hat"}]}}
    )
    assert 'alt="Bo &#34;B&#34;"' in vip.html  # autoescaped inside the attribute
    assert "Your cart" in vip.html and "VIP lounge" in vip.html and "<p>Hat</p>" in vip.html
    assert 'src="https://x.test/8.png"' in vip.html


def test_values_are_html_escaped():
    rendered = render(simple_mjml("Hi {{ contact.first_name }}"), {"contact": {"first_name": "<script>x</script>"}})
    assert "<script>x" not in rendered.html and "&lt;script&gt;x&lt;/script&gt;" in rendered.html
    assert "Hi <script>x</script>" in rendered.text  # the text part is plain text


def test_a_syntax_error_is_reported_with_its_line_and_column():
    mjml = "<mjml><mj-body><mj-section><mj-column>\n<mj-text>\n  Hi {{ contact.first_name | }}\n</mj-text>"
    mjml += "</mj-column></mj-section></mj-body></mjml>"
    [problem] = problems_of(mjml)
    assert (problem.line, problem.column, problem.kind, problem.part) == (3, 6, "syntax", "mjml")

    unclosed = simple_mjml("{% if contact.vip %}VIP")
    [problem] = problems_of(unclosed)
    assert problem.line == 1 and problem.column == unclosed.index("{% if") + 1
    assert "endif" in problem.message

    [problem] = problems_of(simple_mjml("x"), subject="Hi {{ contact.name | nosuchfilter }}")
    assert (problem.part, problem.line, problem.column) == ("subject", 1, 22)


def test_undefined_variables_are_warnings_with_line_and_column():
    compiled = rendering.compile_template(simple_mjml("Hi\n{{ customer.name }}"), "Hello {{ contact.first_name }}")
    [warning] = compiled.warnings
    assert warning.kind == "undefined" and "customer.name" in warning.message
    assert (warning.line, warning.column) == (2, 4)


def test_mjml_structure_errors_have_a_position_and_mj_include_is_refused():
    [problem] = problems_of(
        "<mjml><mj-body>\n<mj-section><mj-column><mj-text>x</mj-column></mj-section></mj-body></mjml>"
    )
    assert problem.kind == "mjml" and problem.line == 2
    [problem] = problems_of('<mjml><mj-body><mj-include path="/etc/passwd" /></mj-body></mjml>')
    assert "mj-include" in problem.message


def test_content_blocks_are_included_by_name_and_adaptive_blocks_only_for_matching_contacts():
    blocks = {
        "header": rendering.Block(
            "header", "<mj-section><mj-column><mj-text>Shop header</mj-text></mj-column></mj-section>"
        ),
        "de-shipping": rendering.Block(
            "de-shipping",
            "<mj-section><mj-column><mj-text>Versand gratis</mj-text></mj-column></mj-section>",
            {"field": "contact.country", "op": "in", "value": ["DE", "AT"]},
        ),
        "greeting": rendering.Block("greeting", "Hello {{ contact.first_name }}!"),
    }
    mjml = (
        '<mjml><mj-body>{% include "header" %}{% render "de-shipping" %}'
        '<mj-section><mj-column><mj-text>{% include "greeting" %}</mj-text></mj-column></mj-section>'
        "</mj-body></mjml>"
    )
    compiled = rendering.compile_template(mjml, "Hi", "", blocks)
    assert set(compiled.blocks) == {"header", "de-shipping", "greeting"}
    prepared = rendering.prepare(compiled)
    shown = rendering.render_email(prepared, {"contact": {"first_name": "Jo"}, "_blocks": {"de-shipping": True}})
    hidden = rendering.render_email(prepared, {"contact": {"first_name": "Jo"}, "_blocks": {"de-shipping": False}})
    assert "Shop header" in shown.text and "Hello Jo!" in shown.text and "Versand gratis" in shown.text
    assert "Shop header" in hidden.text and "Versand gratis" not in hidden.text

    [problem] = problems_of('<mjml><mj-body>\n  {% include "nope" %}</mj-body></mjml>', blocks=blocks)
    assert "nope" in problem.message and (problem.line, problem.column) == (2, 3)


# -- the sandbox -----------------------------------------------------------------------------------


def render_error(mjml, data=None):
    compiled = rendering.compile_template(mjml, "x")
    with pytest.raises(rendering.RenderError) as caught:
        rendering.render_email(rendering.prepare(compiled), data or {})
    return str(caught.value)


def test_a_huge_loop_is_stopped():
    assert "has more than 10,000 items" in render_error(simple_mjml("{% for i in (1..100000000) %}x{% endfor %}"))
    body = "{% assign n = 5000 | plus: 0 %}{% for i in (1..n) %}{% for j in (1..n) %}x{% endfor %}{% endfor %}"
    assert "loop iteration limit" in render_error(simple_mjml(body))


def test_nested_loops_with_empty_bodies_are_stopped():
    body = (
        "{% for a in (1..1000) %}{% for b in (1..1000) %}{% for c in (1..1000) %}{% endfor %}{% endfor %}{% endfor %}"
    )
    assert "loop iteration limit" in render_error(simple_mjml(body))


def test_a_flood_of_output_is_stopped():
    body = "{% capture x %}" + "y" * 1000 + "{% endcapture %}{% for i in (1..9999) %}{{ x }}{{ x }}{{ x }}{% endfor %}"
    assert "output stream limit" in render_error(simple_mjml(body))


def test_a_slow_render_is_stopped_by_the_time_bound():
    from journeys import liquid as liquid_env

    compiled = rendering.compile_template(
        simple_mjml("{% for a in (1..9000) %}{% assign b = a | times: 3 %}{% endfor %}"), "x"
    )
    with pytest.raises(rendering.RenderError, match="too long"):
        rendering.render_email(rendering.prepare(compiled), {}, seconds=0.0)
    assert liquid_env.RENDER_SECONDS > 0


def test_a_growing_namespace_is_stopped():
    body = '{% assign s = "xxxxxxxxxx" %}{% for i in (1..30) %}{% assign s = s | append: s %}{% endfor %}'
    assert "namespace limit" in render_error(simple_mjml(body))


def test_deep_includes_are_refused_at_save_time():
    blocks = {"loop": rendering.Block("loop", 'again {% include "loop" %}')}
    [problem] = problems_of(simple_mjml('{% include "loop" %}'), blocks=blocks)
    assert problem.kind == "limit" and "nested more than" in problem.message


def test_a_5000_digit_number_is_refused_at_save_and_fails_a_render_cleanly():
    [problem] = problems_of(simple_mjml("{{ " + "9" * 5000 + " }}"))
    assert "5000 digits" in problem.message and problem.line == 1
    message = render_error(simple_mjml("{{ contact.n | times: contact.n }}"), {"contact": {"n": 10**2500}})
    assert "too large" in message


def test_the_templates_preheader_becomes_the_hidden_preview_text():
    rendered = render(
        simple_mjml("Body"), {"contact": {"first_name": "Li"}}, preheader="Just for you, {{ contact.first_name }}"
    )
    assert "Just for you, Li" in rendered.html
    assert "Just for you" not in rendered.text  # hidden preview text is not part of the text part
