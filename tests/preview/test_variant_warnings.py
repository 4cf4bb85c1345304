"""What QA is told about one variant: values this subject lacks (where they are printed), empty
recommendations; nothing about values printed only under a condition on them."""

import json

from editor import variants

from .builders import REFERENCE_MJML, SHARED


def warnings_for(data, subject="Hi {{ contact.first_name | default: 'there' }}"):
    compilation = variants.compile_draft(variants.Draft(REFERENCE_MJML, subject))
    assert compilation.ok, compilation.problems
    return variants.subject_warnings(compilation, data)


def test_a_complete_context_has_nothing_to_warn_about():
    data = json.loads((SHARED / "cart_context.json").read_text())
    assert warnings_for(data) == []


def test_it_names_a_missing_value_where_it_is_printed():
    data = json.loads((SHARED / "cart_context.json").read_text())
    del data["contact"]["first_name"]
    (warning,) = warnings_for(data)
    assert warning["kind"] == "undefined" and "contact.first_name" in warning["message"]
    assert "its default is shown" in warning["message"]
    assert (warning["part"], warning["line"], warning["column"]) == ("subject", 1, 7)


def test_values_printed_under_a_condition_on_them_are_not_reported():
    data = json.loads((SHARED / "cart_context.json").read_text())
    del data["offer"]  # {% if offer %} ... {{ offer.code }}
    data["contact"]["city"] = ""  # {% elsif contact.city %} ... {{ contact.city }}
    assert warnings_for(data) == []


def test_empty_recommendations_are_reported():
    data = json.loads((SHARED / "cart_context.json").read_text())
    data["recommendations"] = []
    assert [w["kind"] for w in warnings_for(data)] == ["empty"]
