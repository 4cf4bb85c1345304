"""Our emails are written as MIME directly (delivery.transports.mime_bytes, base64 parts) instead
of through the email package's generator: every mail client must read the same email as Django's
own `message()` would have given, headers and parts."""

import email
import email.policy

import pytest

from delivery import transports

CASES = [
    ("Ada, your cart is waiting", "Wayline <no-reply@shop.example>", "ada@example.com", "Hi Ada", "<p>Hi Ada</p>"),
    (
        "Jürgen, dein Warenkorb 🛒",
        "Schön & Gut <hallo@shop.example>",
        "jürgen@example.com",
        "Grüße\n€ 39,99",
        "<p>€</p>",
    ),
    ("A" * 300, "x@shop.example", "b@example.com", "line\n" * 500, "<td>" + "x" * 5000 + "</td>"),
]


def parsed(data):
    return email.message_from_bytes(data, policy=email.policy.default)


@pytest.mark.parametrize("subject, sender, to, text, html", CASES)
def test_it_reads_as_djangos_own_message_does(subject, sender, to, text, html):
    headers = {
        "Message-ID": "<m1@shop.example>",
        "X-Wayline-Message": "42",
        "List-Unsubscribe": "<https://w.example/t/u/tok>, <mailto:unsubscribe@shop.example?subject=unsubscribe%20tok>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    made = transports.build_email(
        subject=subject, html=html, text=text, from_email=sender, to=to, headers=headers, reply_to=["help@shop.example"]
    )
    ours, message_id = transports.mime_bytes(made)
    theirs = made.message().as_bytes(linesep="\r\n")
    mine, django = parsed(ours), parsed(theirs)
    assert message_id == "<m1@shop.example>"
    for name in ("Subject", "From", "To", "Reply-To", "Message-ID", "X-Wayline-Message", "List-Unsubscribe",
                 "List-Unsubscribe-Post", "MIME-Version"):  # fmt: skip
        assert str(mine[name]).strip() == str(django[name]).strip(), name  # (Django folds long ones)
    assert mine["Date"] is not None
    assert mine.get_content_type() == django.get_content_type() == "multipart/alternative"
    assert mine.get_body(("plain",)).get_content() == django.get_body(("plain",)).get_content()
    assert mine.get_body(("html",)).get_content() == django.get_body(("html",)).get_content()
    assert all(len(line) <= 998 for line in ours.split(b"\r\n"))


def test_a_header_with_a_line_break_is_refused():
    made = transports.build_email(
        subject="Hi\r\nBcc: all@example.com", html="<p>x</p>", text="x", from_email="a@b.c", to="d@e.f", headers={}
    )
    with pytest.raises(Exception, match="newlines"):
        transports.mime_bytes(made)
