"""Demo data of delivery: sending settings, content blocks, a coupon pool and the templates the demo
journeys send (cart-reminder is the reference template of shared/bench). Safe to run again."""

from pathlib import Path

from . import actions
from .models import ContentBlock, Coupon, CouponPool, Template

REFERENCE = Path(__file__).resolve().parent / "demo_templates" / "cart_abandonment.mjml"

BLOCKS = {
    "header": (
        "Logo and shop name",
        """<mj-section background-color="#ffffff">
  <mj-column><mj-image width="120px" src="https://shop.example/logo.png" alt="{{ workspace.name }}"
    href="https://shop.example/" /></mj-column>
</mj-section>""",
        None,
    ),
    "footer": (
        "Address, preferences, unsubscribe, view in browser",
        """<mj-section>
  <mj-column>
    <mj-divider border-width="1px" border-color="#dddddd" />
    <mj-text font-size="11px" color="#777777">You receive this email because you have an account at
      {{ workspace.name }}. <a href="{{ links.preferences }}">Preferences</a> ·
      <a href="{{ links.unsubscribe }}">Unsubscribe</a> · <a href="{{ links.view_in_browser }}">View in browser</a>
    </mj-text>
  </mj-column>
</mj-section>""",
        None,
    ),
    "product-grid": (
        "Three recommended products with today's price",
        """<mj-section background-color="#ffffff">
  <mj-raw>{% for p in recommendations limit: 3 %}</mj-raw>
  <mj-column width="33%">
    <mj-image src="{{ p.image_url }}" alt="{{ p.name }}" href="{{ p.url }}" />
    <mj-text align="center">{{ p.name }}<br /><b>{{ p.price | money }}</b></mj-text>
  </mj-column>
  <mj-raw>{% endfor %}</mj-raw>
</mj-section>""",
        None,
    ),
    "free-shipping-dach": (
        "Adaptive: only for contacts in Germany, Austria or Switzerland",
        """<mj-section background-color="#eef7ee"><mj-column>
  <mj-text align="center">Kostenloser Versand nach Deutschland, Österreich und in die Schweiz ab 50 €.</mj-text>
</mj-column></mj-section>""",
        {"field": "contact.country", "op": "in", "value": ["DE", "AT", "CH"]},
    ),
}


def email_layout(title, preview, body):
    return f"""<mjml>
  <mj-head>
    <mj-title>{title}</mj-title>
    <mj-preview>{preview}</mj-preview>
    <mj-attributes><mj-all font-family="Helvetica, Arial, sans-serif" /><mj-text font-size="14px" color="#333333" />
    </mj-attributes>
  </mj-head>
  <mj-body background-color="#f4f4f4">
    {{% include "header" %}}
{body}
    {{% include "free-shipping-dach" %}}
    {{% include "footer" %}}
  </mj-body>
</mjml>"""


TEMPLATES = {
    "welcome": {
        "name": "Welcome",
        "subject": 'Welcome to {{ workspace.name }}, {{ contact.first_name | default: "friend" }}!',
        "mjml": email_layout(
            "Welcome",
            "Good to have you with us",
            """    <mj-section background-color="#ffffff"><mj-column>
      <mj-text font-size="20px">Welcome, {{ contact.first_name | default: "friend" }}!</mj-text>
      <mj-text>Thanks for joining. Here is what other customers love right now:</mj-text>
    </mj-column></mj-section>
    {% include "product-grid" %}""",
        ),
    },
    "browse-abandonment": {
        "name": "Browse abandonment",
        "subject": "Still thinking about {{ event.properties.name | default: 'it' }}?",
        "mjml": email_layout(
            "Still thinking about it?",
            "The product you looked at is waiting",
            """    <mj-section background-color="#ffffff"><mj-column>
      <mj-text font-size="18px">Still thinking about {{ event.properties.name | default: "it" }}?</mj-text>
      <mj-text>{% assign viewed = event.properties.sku | product %}
        {% if viewed %}It is {{ viewed.price | money }} today
        {%- if viewed.stock and viewed.stock < 5 %}, and only {{ viewed.stock }} are left{% endif %}.
        {% else %}Take another look.{% endif %}</mj-text>
      <mj-button background-color="#16a085" href="{{ event.properties.url | default: 'https://shop.example/' }}">
        Take a look</mj-button>
    </mj-column></mj-section>
    <mj-section background-color="#ffffff"><mj-column><mj-text>You might also like</mj-text></mj-column></mj-section>
    {% include "product-grid" %}""",
        ),
    },
    "cross-sell": {
        "name": "Cross-sell after an order",
        "subject": "{{ contact.first_name | default: 'Hi' }}, these go well with your order",
        "mjml": email_layout(
            "Goes well with your order",
            "Picked for you, based on what you bought",
            """    <mj-section background-color="#ffffff"><mj-column>
      <mj-text font-size="18px">Thanks for your order {{ event.properties.order_id }}!</mj-text>
      <mj-text>Customers who bought the same also bought:</mj-text>
    </mj-column></mj-section>
    {% include "product-grid" %}""",
        ),
    },
    "price-drop": {
        "name": "Price drop",
        "subject": "{{ event.properties.name }} is now {{ event.new_price | money: event.currency }}",
        "mjml": email_layout(
            "It just got cheaper",
            "Something you looked at costs less now",
            """    <mj-section background-color="#ffffff"><mj-column>
      <mj-text font-size="18px">{{ event.properties.name }} dropped {{ event.percent_off }}%.</mj-text>
      <mj-text>It was {{ event.old_price | money: event.currency }}; it is now
        <b>{{ event.new_price | money: event.currency }}</b>. Today's price, when you open this email:</mj-text>
      <mj-raw>{% live_image "price" sku: event.sku color: "#1f2a44" background: "#ffffff" %}</mj-raw>
      <mj-button href="{{ event.url | default: 'https://shop.example' }}">See it</mj-button>
    </mj-column></mj-section>""",
        ),
    },
    "back-in-stock": {
        "name": "Back in stock",
        "subject": "{{ event.properties.name }} is back",
        "mjml": email_layout(
            "It is back",
            "Something you wanted is in stock again",
            """    <mj-section background-color="#ffffff"><mj-column>
      <mj-text font-size="18px">{{ event.properties.name }} is back in stock.</mj-text>
      <mj-raw>{% live_image "stock" sku: event.sku color: "#1f2a44" background: "#ffffff" %}</mj-raw>
      <mj-button href="{{ event.url | default: 'https://shop.example' }}">Get it before it goes</mj-button>
    </mj-column></mj-section>""",
        ),
    },
    "win-back": {
        "name": "Win-back",
        "subject": "We miss you, {{ contact.first_name | default: 'friend' }}",
        "mjml": email_layout(
            "We miss you",
            "A little something to welcome you back",
            """    <mj-section background-color="#ffffff"><mj-column>
      <mj-text font-size="18px">It has been a while, {{ contact.first_name | default: "friend" }}.</mj-text>
      <mj-raw>{% if offer %}</mj-raw>
      <mj-text>Here is {{ offer.percent_off }}% off your next order with the code <b>{{ offer.code }}</b>,
        valid until {{ offer.expires_at | date: "long" }}.</mj-text>
      <mj-raw>{% endif %}</mj-raw>
    </mj-column></mj-section>
    {% include "product-grid" %}""",
        ),
        "coupon_pool": "comeback",
    },
}


def cart_reminder():
    """The reference template (shared/bench's cart abandonment email) as a template spec."""
    return {
        "name": "Cart reminder",
        "subject": '{{ contact.first_name | default: "Hi" }}, your cart is waiting',
        "mjml": REFERENCE.read_text(),
        "coupon_pool": "comeback",
    }


def seed(workspace):
    actions.update_sending_settings(
        workspace,
        None,
        {
            "from_name": workspace.name,
            "from_email": "hello@shop.example",
            "postal_address": "1 Market St, Springfield",
            "frequency_cap": 3,
            "frequency_window_hours": 24,
            "topics": [
                {"key": "marketing", "name": "Offers and reminders", "description": "Cart reminders, offers."},
                {"key": "newsletter", "name": "Newsletter", "description": "News from the shop, monthly."},
            ],
        },
    )
    for name, (description, source, condition) in BLOCKS.items():
        ContentBlock.objects.update_or_create(
            workspace=workspace,
            name=name,
            defaults={"description": description, "source": source, "condition": condition},
        )
    pool, _ = CouponPool.objects.get_or_create(
        workspace=workspace,
        slug="comeback",
        defaults={"name": "Come back (10% off)", "percent_off": 10, "valid_days": 14},
    )
    if not pool.coupons.exists():
        Coupon.objects.bulk_create(Coupon(workspace=workspace, pool=pool, code=f"COMEBACK-{n:04d}") for n in range(200))
    specs = {"cart-reminder": cart_reminder(), **TEMPLATES}
    for slug, spec in specs.items():
        fields = {**spec, "coupon_pool": pool if spec.get("coupon_pool") else None}
        template = Template.objects.filter(workspace=workspace, slug=slug).first()
        actions.save_template(workspace, None, template, slug=slug, **fields)
