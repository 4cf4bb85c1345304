import { describe, expect, it } from "vitest";
import reference from "../../../tests/delivery/reference/cart_abandonment.mjml?raw";
import { LOCKED_LABEL, concealValue, decodeEntities, normalizeWhitespace, protectFragment, protectSource, restoreSource, revealValue, type DefaultsOf, type Protection } from "./visualSource";

const DEFAULTS: Record<string, Record<string, string>> = {
  "mj-text": { align: "left", "font-size": "13px", "padding-top": "10px" },
  "mj-column": { "vertical-align": "top" },
};
const defaults: DefaultsOf = (tag) => DEFAULTS[tag];

/** What GrapesJS does to what it loads before writing it back: whitespace between tags gone,
 * entities decoded, void tags rewritten, attributes at their default dropped. */
function likeGrapes(mjml: string): string {
  return mjml
    .replace(/>\s+</g, "><")
    .replace(/<br\s*\/?>/g, "<br/>")
    .replace(/>([^<]+)</g, (_, text: string) => `>${decodeEntities(text).replace(/&/g, "&amp;")}<`)
    .replace(/(<mj-text\b[^>]*?) align="left"/g, "$1");
}

function protect(source: string): Protection {
  const result = protectSource(source);
  if (!result.ok) throw new Error(result.reason);
  return result.protection;
}

const roundTrip = (source: string) => {
  const protection = protect(source);
  return restoreSource(protection, likeGrapes(protection.mjml), defaults);
};

const email = (body: string, head = "<mj-head><mj-title>{{ workspace.name }}</mj-title></mj-head>") => `<mjml>
  ${head}
  <mj-body background-color="#f4f4f4">
${body}
  </mj-body>
</mjml>
`;

// Like delivery/demo.py's templates: includes between sections, Liquid with quotes everywhere.
const DEMO = email(`    {% include "header" %}
    <mj-section background-color="#ffffff"><mj-column>
      <mj-text font-size="18px">Still thinking about {{ event.properties.name | default: "it" }}?</mj-text>
      <mj-text>{% assign viewed = event.properties.sku | product %}
        {% if viewed %}It is {{ viewed.price | money }} today
        {%- if viewed.stock and viewed.stock < 5 %}, and only {{ viewed.stock }} are left{% endif %}.
        {% else %}Take another look.{% endif %}</mj-text>
      <mj-raw>{% live_image "price" sku: event.sku color: "#1f2a44" background: "#ffffff" %}</mj-raw>
      <mj-button background-color="#16a085" href="{{ event.properties.url | default: 'https://shop.example/' }}">
        Take a look</mj-button>
    </mj-column></mj-section>
    {% include "product-grid" %}
    {% include "free-shipping-dach" %}
    {% include "footer" %}`);

describe("protectSource", () => {
  it("hides every Liquid tag and output from the visual editor, quotes inside attributes included", () => {
    const source = email(`<mj-section><mj-column>
      <mj-button href="{{ event.url | default: "https://shop.example/?a=1&b=2" }}" title='{{ "x" }}'>Go</mj-button>
      <mj-image src="{{ item.image_url }}" alt="{{ item.name | default: "A product" }}" />
    </mj-column></mj-section>`);
    const { mjml, liquid } = protect(source);
    expect(mjml).not.toMatch(/\{\{|\{%|%\}|\}\}/);
    expect(mjml).toContain('href="⟦L1⟧"');
    expect(mjml).toContain('alt="⟦L4⟧"');
    expect(mjml).toMatch(/<mj-image src="data:image\/svg\+xml;charset=utf-8,[^"]*wl-src-0/); // a picture in the canvas
    expect(liquid[1]).toBe('{{ event.url | default: "https://shop.example/?a=1&b=2" }}');
    expect(mjml).not.toContain("<mj-head"); // the head stays in the code, verbatim
    expect(mjml).toContain("</mj-image>"); // HTML parsers do not know self-closing custom tags
  });

  it("shows Liquid in text, but with nothing a parser would take for markup", () => {
    const { mjml } = protect(email(`<mj-section><mj-column><mj-text>{% if a < b %}Hi {{ contact.first_name | default: "there" }}{% endif %}</mj-text></mj-column></mj-section>`));
    expect(mjml).toContain('⟦\u200c{% if a ‹ b %}⟧Hi ⟦\u200d{{ contact.first_name | default: "there" }}⟧⟦\u2060{% endif %}⟧');
  });

  it("locks what the visual editor cannot represent, showing it as code only", () => {
    const { mjml, locked, liquid } = protect(DEMO);
    expect(locked.map((text) => text.replace(/⟦L(\d+)⟧/g, (_, n: string) => liquid[Number(n)]))).toEqual([
      '{% include "header" %}',
      '<mj-raw>{% live_image "price" sku: event.sku color: "#1f2a44" background: "#ffffff" %}</mj-raw>',
      '{% include "product-grid" %}\n    {% include "free-shipping-dach" %}\n    {% include "footer" %}',
    ]);
    expect(mjml.split(LOCKED_LABEL)).toHaveLength(4);
    expect(mjml).toContain('data-wl-lock="2"');
    expect(mjml).toContain("{% include &quot;product-grid&quot; %} {% include &quot;free-shipping-dach&quot; %}");
  });

  it("locks comments, unknown tags and mj-raw around sections", () => {
    const { locked } = protect(reference.replace("<mj-section>\n      <mj-column>\n        <mj-divider", "<!-- footer -->\n    <mj-table><tr><td>x</td></tr></mj-table>\n    <mj-section>\n      <mj-column>\n        <mj-divider"));
    expect(locked).toContain("<mj-raw>⟦L5⟧</mj-raw>"); // {% for item in cart.items %}
    expect(locked.at(-1)).toMatch(/^<mj-raw>⟦L\d+⟧<\/mj-raw>\n    <!-- footer -->\n    <mj-table><tr><td>x<\/td><\/tr><\/mj-table>$/); // one block with the {% endif %} before it
  });

  it("refuses what it cannot take apart safely", () => {
    expect(protectSource("<mjml><mj-body><mj-section><mj-column></mj-section></mj-body></mjml>")).toEqual({ ok: false, reason: "<mj-column> is not closed: fix it in the code view first." });
    expect(protectSource("<mj-section></mj-section>")).toMatchObject({ ok: false });
  });
});

describe("restoreSource", () => {
  it("gives back the reference template byte for byte", () => {
    expect(roundTrip(reference)).toBe(reference);
  });

  it("gives back a demo template byte for byte: includes, mj-raw, Liquid in text and attributes", () => {
    expect(roundTrip(DEMO)).toBe(DEMO);
  });

  it("keeps {% if %} around sections and comments where they were", () => {
    const source = email(`    <!-- only for Germany -->
    <mj-raw>{% if contact.country == "DE" %}</mj-raw>
    <mj-section><mj-column><mj-text align="left">Hallo &amp; willkommen&nbsp;!<br />Gratis.</mj-text></mj-column></mj-section>
    <mj-raw>{% elsif contact.city %}</mj-raw>
    <mj-section><mj-column><mj-text>Pick it up in {{ contact.city }}.</mj-text></mj-column></mj-section>
    <mj-raw>{% endif %}</mj-raw>`);
    expect(roundTrip(source)).toBe(source);
  });

  it("writes an edit where it was made and leaves the rest as written", () => {
    const protection = protect(reference);
    const edited = likeGrapes(protection.mjml).replace("you left something behind", "you forgot these");
    const result = restoreSource(protection, edited, defaults);
    expect(result).toBe(reference.replace("you left something behind", "you forgot these"));
  });

  it("keeps the Liquid of an attribute the editor changed next to it", () => {
    const protection = protect(reference);
    const edited = likeGrapes(protection.mjml).replace('<mj-button background-color="#16a085"', '<mj-button background-color="#3b4bd8"');
    expect(restoreSource(protection, edited, defaults)).toBe(reference.replace('<mj-button background-color="#16a085"', '<mj-button background-color="#3b4bd8"'));
  });

  it("drops a deleted section and writes a new one indented, locked blocks moved with the rest", () => {
    const source = email(`    <mj-section><mj-column><mj-text>One</mj-text></mj-column></mj-section>
    {% include "footer" %}
    <mj-section><mj-column><mj-text>Two</mj-text></mj-column></mj-section>`);
    const protection = protect(source);
    const exported = likeGrapes(protection.mjml)
      .replace("<mj-section><mj-column><mj-text>One</mj-text></mj-column></mj-section>", "")
      .replace("</mj-body>", '<mj-section background-color="#fff"><mj-column><mj-text>Three ⟦\u200b{{ workspace.name }}⟧ and ⟦L0⟧</mj-text></mj-column></mj-section></mj-body>');
    expect(restoreSource(protection, exported, defaults)).toBe(
      email(`    {% include "footer" %}
    <mj-section><mj-column><mj-text>Two</mj-text></mj-column></mj-section>
    <mj-section background-color="#fff">
      <mj-column>
        <mj-text>Three {{ workspace.name }} and {{ workspace.name }}</mj-text>
      </mj-column>
    </mj-section>`),
    );
  });

  it("brings back Liquid the editor escaped or shows differently", () => {
    const source = email(`<mj-section><mj-column><mj-text>{% if cart.total > 100 %}<b>Free</b>{% endif %} <a href="{{ links.unsubscribe }}">Bye</a></mj-text></mj-column></mj-section>`);
    const protection = protect(source);
    const exported = protection.mjml.replace("⟦\u200c{% if cart.total › 100 %}⟧", "⟦\u200c{% if cart.total &gt; 100 %}⟧").replace("Bye", "Goodbye");
    expect(exported).not.toBe(protection.mjml.replace("Bye", "Goodbye"));
    expect(restoreSource(protection, exported)).toBe(source.replace("Bye", "Goodbye"));
  });

  it("puts a block's Liquid and code-only parts back when a block was dropped in", () => {
    const source = email(`<mj-section><mj-column><mj-text>Hi</mj-text></mj-column></mj-section>`, "");
    const protection = protect(source);
    const grid = `<mj-raw>{% for item in cart.items %}</mj-raw><mj-section><mj-column><mj-image src="{{ item.image_url }}" alt="{{ item.name | default: "Product" }}" /><mj-text>{{ item.name }}</mj-text></mj-column></mj-section><mj-raw>{% endfor %}</mj-raw>`;
    const block = protectFragment(protection, grid);
    // Only the locked blocks' labels and the markers in text show Liquid; no attribute holds any.
    expect(block.replace(/<code[\s\S]*?<\/code>/g, "").replace(/⟦[^⟧]*⟧/g, "")).not.toMatch(/\{\{|\{%/);
    expect(block.split(LOCKED_LABEL)).toHaveLength(3);
    const result = restoreSource(protection, likeGrapes(protection.mjml).replace("</mj-body>", `${block}</mj-body>`));
    expect(normalizeWhitespace(result)).toBe(normalizeWhitespace(source.replace("</mj-section>\n", `</mj-section>${grid}`)));
    expect(result).toContain('alt="{{ item.name | default: "Product" }}"');
  });

  it("writes Liquid typed into a text as typed: no entities inside it, <, > and quotes included", () => {
    const source = email(`<mj-section><mj-column><mj-text>Hi</mj-text></mj-column></mj-section>`, "");
    const protection = protect(source);
    const typed = 'Hi {{ cart.total | default:&nbsp;&quot;&lt;none&gt;&quot; }}&nbsp;&amp; {% if a &gt; 1 %}more{% endif %}';
    const result = restoreSource(protection, likeGrapes(protection.mjml).replace(">Hi<", `>${typed}<`));
    expect(result).toBe(source.replace(">Hi<", '>Hi {{ cart.total | default: "<none>" }}&nbsp;&amp; {% if a > 1 %}more{% endif %}<'));
  });

  it("keeps literal marker characters of the source", () => {
    const source = email(`<mj-section><mj-column><mj-text>⟦L0⟧ is not Liquid</mj-text></mj-column></mj-section>`);
    expect(roundTrip(source)).toBe(source);
  });
});

describe("attribute values in the settings panel", () => {
  const hrefOf = (mjml: string, tag: string) => new RegExp(`<${tag}\\b[^>]*?\\shref="([^"]*)"`).exec(mjml)?.[1] ?? "";

  it("shows an attribute's Liquid, not its marker, and an image made of Liquid by its address", () => {
    const protection = protect(reference);
    const href = hrefOf(protection.mjml, "mj-button");
    expect(href).toMatch(/⟦L\d+⟧/);
    expect(revealValue(protection, href)).toBe("https://shop.example/cart?c={{ contact.id }}");
    const src = /<mj-image\b[^>]*?\ssrc="(data:image[^"]*)"/.exec(protection.mjml)?.[1] ?? "";
    expect(revealValue(protection, src)).toBe("{{ item.image_url }}");
    expect(revealValue(protection, "https://shop.example/")).toBe("https://shop.example/");
  });

  it("keeps Liquid typed there, quotes included, through the export", () => {
    const protection = protect(reference);
    const href = hrefOf(protection.mjml, "mj-button");
    const typed = '{{ cart.url | append: "?utm_source=email" }}';
    const concealed = concealValue(protection, typed);
    expect(concealed).not.toContain('"');
    const edited = likeGrapes(protection.mjml).replace(`href="${href}"`, `href="${concealed}"`);
    const result = restoreSource(protection, edited, defaults);
    expect(result).toBe(reference.replace('href="https://shop.example/cart?c={{ contact.id }}"', `href="${typed}"`));
    expect(revealValue(protection, concealed)).toBe(typed);
  });
});

describe("includes of content blocks", () => {
  const includes = {
    header: `<mj-section><mj-column><mj-image src="https://shop.example/logo.png" alt="{{ workspace.name }}" /></mj-column></mj-section>`,
    "product-grid": `<mj-section>\n  <mj-raw>{% for p in recommendations limit: 3 %}</mj-raw>\n  <mj-column><mj-text>{{ p.name }}</mj-text></mj-column>\n  <mj-raw>{% endfor %}</mj-raw>\n</mj-section>`,
    "free-shipping-dach": `<mj-section><mj-column><mj-text>Versand gratis.</mj-text></mj-column></mj-section>`,
    footer: `<mj-section><mj-column><mj-text><a href="{{ links.unsubscribe }}">Unsubscribe</a></mj-text></mj-column></mj-section>`,
  };

  it("show each included block, locked, and give back the include as written", () => {
    const protection = protect(DEMO);
    const withBlocks = protectSource(DEMO, includes);
    if (!withBlocks.ok) throw new Error(withBlocks.reason);
    const { mjml } = withBlocks.protection;
    expect(mjml.match(/<mj-wrapper data-wl-lock="\d+"/g)).toHaveLength(4); // header, product-grid, free-shipping-dach, footer
    expect(mjml).toContain("Versand gratis.");
    expect(mjml.replace(/<code[\s\S]*?<\/code>/g, "").replace(/⟦[^⟧]*⟧/g, "")).not.toMatch(/\{\{|\{%/);
    expect(restoreSource(withBlocks.protection, likeGrapes(mjml), defaults)).toBe(DEMO);
    expect(protection.mjml).not.toContain("Versand gratis."); // without the blocks: code only
  });

  it("drop an include deleted in the editor and nothing else", () => {
    const result = protectSource(DEMO, includes);
    if (!result.ok) throw new Error(result.reason);
    const exported = likeGrapes(result.protection.mjml).replace(/<mj-wrapper data-wl-lock="\d+"[^>]*>(?:(?!<\/mj-wrapper>)[\s\S])*?Versand gratis\.[\s\S]*?<\/mj-wrapper>/, "");
    const restored = restoreSource(result.protection, exported, defaults);
    expect(restored).not.toContain('{% include "free-shipping-dach" %}');
    expect(normalizeWhitespace(restored)).toBe(normalizeWhitespace(DEMO.replace('{% include "free-shipping-dach" %}', "")));
  });

  it("stay code only when the block is not sections", () => {
    const result = protectSource(DEMO, { ...includes, footer: "<mj-text>Bye</mj-text>" });
    if (!result.ok) throw new Error(result.reason);
    expect(result.protection.mjml).toContain("{% include &quot;product-grid&quot; %} {% include &quot;free-shipping-dach&quot; %} {% include &quot;footer&quot; %}");
    expect(restoreSource(result.protection, likeGrapes(result.protection.mjml), defaults)).toBe(DEMO);
  });
});

describe("normalizeWhitespace", () => {
  it("ignores only whitespace between and inside tags", () => {
    expect(normalizeWhitespace("<a>\n  <b x='1'  />  text  here\n</a>")).toBe("<a><b x='1'/> text here </a>");
    expect(normalizeWhitespace("<a>x</a>")).not.toBe(normalizeWhitespace("<a>y</a>"));
  });
});
