"""Where a preview's draft comes from, read through the member's workspace only: a template (its
latest saved version), or the template an email node of a journey draft sends; the workspace's
content blocks; the saved state pushed to watchers when an object is saved."""

from types import SimpleNamespace

from accounts.access import scoped
from delivery import rendering
from delivery.models import Template
from journeys.models import Journey

from .variants import Draft

STARTER = """<mjml>
  <mj-body>
    <mj-section>
      <mj-column>
        <mj-text>Hi {{ contact.first_name | default: "there" }},</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
"""


class NotFound(Exception):
    """The object does not exist in the member's workspace."""


def _id(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise ValueError(f"“{name}” must be an id.")
    return int(value)


def template_by_ref(workspace, ref):
    """A template by id or slug (an email node's `template` may hold either)."""
    templates = scoped(Template, workspace).select_related("latest_version", "coupon_pool")
    ref = str(ref or "").strip()
    template = templates.filter(slug=ref).first()
    if template is None and ref.isdigit():
        template = templates.filter(pk=int(ref)).first()
    return template


def draft_of(template):
    version = template.latest_version
    if version is None:
        return Draft(mjml=STARTER, subject=template.name, preheader="")
    return Draft(mjml=version.mjml, subject=version.subject, preheader=version.preheader)


def email_node(journey, node_id):
    for node in (journey.draft or {}).get("nodes") or []:
        if isinstance(node, dict) and node.get("id") == node_id:
            if node.get("type") != "email":
                raise ValueError(f"Node “{node_id}” is not an email node.")
            return node
    raise NotFound(f"The journey draft has no node “{node_id}”.")


def open_target(workspace, content):
    """(target, saved draft, None) for an "open" message."""
    if content.get("template") is not None:
        template = (
            scoped(Template, workspace)
            .select_related("latest_version")
            .filter(pk=_id(content["template"], "template"))
            .first()
        )
        if template is None:
            raise NotFound("There is no such template in this workspace.")
        target = {"kind": "template", "id": template.pk, "template_id": template.pk, "name": template.name}
        return target, draft_of(template), None
    if content.get("journey") is not None:
        journey = scoped(Journey, workspace).filter(pk=_id(content["journey"], "journey")).first()
        if journey is None:
            raise NotFound("There is no such journey in this workspace.")
        node_id = content.get("node")
        if not isinstance(node_id, str):
            raise ValueError("“node” must name the email node.")
        node = email_node(journey, node_id)
        ref = (node.get("config") or {}).get("template")
        template = template_by_ref(workspace, ref)
        if template is None:
            raise NotFound(f"The email node “{node_id}” sends no known template.")
        target = {
            "kind": "journey",
            "id": journey.pk,
            "node": node_id,
            "template_id": template.pk,
            "name": f"{journey.name} · {template.name}",
        }
        return target, draft_of(template), None
    raise ValueError("Open a template, a journey's email node, or a scratch draft.")


def watch_list(target):
    """The objects whose presence and saved changes a preview session follows."""
    watches = []
    if target.get("kind") == "journey":
        watches.append({"kind": "journey", "id": target["id"]})
    if target.get("template_id"):
        watches.append({"kind": "template", "id": target["template_id"]})
    return watches


def template_of(workspace, target):
    """The Template a target renders as (an unsaved one for a scratch draft: no coupon pool)."""
    if target and target.get("template_id"):
        template = scoped(Template, workspace).select_related("coupon_pool").filter(pk=target["template_id"]).first()
        if template is not None:
            return template
    return Template(workspace=workspace, slug="scratch", name="Scratch")


def content_blocks(workspace):
    """The workspace's content blocks as the renderer takes them (what saving a template uses)."""
    from delivery.actions import workspace_blocks

    return workspace_blocks(workspace)


def check_watchable(workspace, kind, object_id):
    if kind not in ("journey", "template"):
        raise ValueError("Watch a journey or a template.")
    model = Journey if kind == "journey" else Template
    if not scoped(model, workspace).filter(pk=_id(object_id, "id")).exists():
        raise NotFound(f"There is no such {kind} in this workspace.")


def saved_state(workspace, kind, object_id):
    """What watchers are told after a save: read from the database, never from the message."""
    if kind == "template":
        template = scoped(Template, workspace).select_related("latest_version").filter(pk=object_id).first()
        if template is None:
            return None
        version = template.latest_version
        return {
            "revision": version.number if version else 0,
            "name": template.name,
            "draft": draft_of(template).as_dict(),
        }
    journey = scoped(Journey, workspace).filter(pk=object_id).first()
    if journey is None:
        return None
    return {
        "revision": journey.draft_revision,
        "name": journey.name,
        "status": journey.status,
        "approved_revision": journey.approved_revision,
    }


def preview_version(template, blocks):
    """What build_context needs of a template version, for a draft that is not saved: every name
    a template may use (so an edit that starts using `recommendations` needs no new context) and
    every content block (so each adaptive block's flag is there)."""
    return SimpleNamespace(
        template=template,
        roots=sorted(rendering.KNOWN_GLOBALS),
        blocks={name: {"source": b.source, "condition": b.condition} for name, b in blocks.items()},
    )
