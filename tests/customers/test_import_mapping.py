"""A contact CSV is previewed with a suggested column mapping, imported under the mapping the
marketer chose, and its contacts can go into a static list (a new one or an existing one)."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from journeys.customers import imports
from journeys.models import Contact, ImportJob, Segment

PEOPLE = "E-mail Address,First Name,Favourite Colour,Notes\nada@shop.test,Ada,teal,vip\nbob@shop.test,Bob,red,\n"


def preview(client, text, name="people.csv"):
    return client.post("/api/imports/preview", {"file": SimpleUploadedFile(name, text.encode(), "text/csv")})


def upload(client, text, mapping=None, name="people.csv", **extra):
    body = {"kind": "contacts", "file": SimpleUploadedFile(name, text.encode(), "text/csv"), **extra}
    if mapping is not None:
        body["mapping"] = json.dumps(mapping)
    return client.post("/api/imports", body)


def run(job_id):
    imports.run_import(job_id)
    return ImportJob.objects.get(pk=job_id)


def imported(client, text, mapping=None, **extra):
    response = upload(client, text, mapping, **extra)
    assert response.status_code == 201, response.content
    job = run(response.json()["id"])
    assert job.status == "done", job.error
    return job


def member_emails(client, segment_id):
    response = client.get(f"/api/segments/{segment_id}/members")
    assert response.status_code == 200, response.content
    return sorted(row["email"] for row in response.json()["results"])


def static_list(workspace, name="Newsletter"):
    now = timezone.now()
    return Segment.objects.create(
        workspace=workspace, name=name, kind=Segment.Kind.STATIC, rule={}, created_at=now, updated_at=now
    )


MAPPING = {
    "E-mail Address": "email",
    "First Name": "first_name",
    "Favourite Colour": "traits.favourite_colour",
    "Notes": "skip",
}


def test_it_previews_the_header_a_suggested_mapping_and_the_first_ten_rows(workspace, marketer, api):
    text = "E-mail Address,First Name,Favourite Colour\n" + "".join(f"p{n}@shop.test,P{n},blue\n" for n in range(50))
    response = preview(api(marketer), text)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["columns"] == ["E-mail Address", "First Name", "Favourite Colour"]
    assert body["suggested"] == {
        "E-mail Address": "email",
        "First Name": "first_name",
        "Favourite Colour": "traits.favourite_colour",
    }
    assert len(body["rows"]) == 10
    assert body["rows"][0] == ["p0@shop.test", "P0", "blue"]
    assert "email" in body["fields"] and "user_id" in body["fields"]
    assert not Contact.objects.exists()
    assert not ImportJob.objects.exists()


def test_it_previews_content_sent_as_json(workspace, marketer, api):
    response = api(marketer).post("/api/imports/preview", {"content": PEOPLE}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["rows"][1] == ["bob@shop.test", "Bob", "red", ""]


def test_it_imports_under_the_mapping(workspace, marketer, api):
    job = imported(api(marketer), PEOPLE, MAPPING)
    assert (job.created_count, job.row_errors) == (2, [])
    ada = Contact.objects.get(workspace=workspace, email="ada@shop.test")
    assert ada.traits["first_name"] == "Ada"
    assert ada.traits["favourite_colour"] == "teal"
    assert "Notes" not in ada.traits and "vip" not in ada.traits.values()
    assert "E-mail Address" not in ada.traits
    polled = api(marketer).get(f"/api/imports/{job.id}").json()
    assert polled["mapping"] == MAPPING
    assert polled["list"] is None


def test_a_column_the_mapping_leaves_out_is_skipped(workspace, marketer, api):
    imported(api(marketer), PEOPLE, {"E-mail Address": "email"})
    assert Contact.objects.get(email="bob@shop.test").traits == {"email": "bob@shop.test"}


def test_it_puts_the_imported_contacts_into_a_new_list(workspace, marketer, api):
    Contact.objects.create(workspace=workspace, email="eve@shop.test")
    client = api(marketer)
    job = imported(client, PEOPLE, MAPPING, new_list="Spring fair")
    segment = Segment.objects.get(workspace=workspace, name="Spring fair")
    assert segment.kind == Segment.Kind.STATIC
    assert member_emails(client, segment.id) == ["ada@shop.test", "bob@shop.test"]
    polled = client.get(f"/api/imports/{job.id}").json()
    assert polled["list"] == {"id": segment.id, "name": "Spring fair"}
    assert polled["list_added"] == 2


def test_it_adds_the_imported_contacts_to_an_existing_static_list(workspace, marketer, api):
    segment = static_list(workspace)
    Contact.objects.create(workspace=workspace, email="eve@shop.test")
    client = api(marketer)
    text = PEOPLE + "ada@shop.test,Ada,teal,twice\n"  # a contact on two rows joins once
    imported(client, text, MAPPING, list=segment.id)
    assert member_emails(client, segment.id) == ["ada@shop.test", "bob@shop.test"]


def test_a_mapping_without_an_identifier_is_refused(workspace, marketer, api):
    response = upload(api(marketer), PEOPLE, {"E-mail Address": "traits.address", "First Name": "first_name"})
    assert response.status_code == 400
    assert "mapping" in response.json()["fields"]
    assert not ImportJob.objects.exists()


def test_two_columns_mapped_to_email_are_refused_naming_both(workspace, marketer, api):
    text = "Work Email,Home Email\na@shop.test,b@shop.test\n"
    response = upload(api(marketer), text, {"Work Email": "email", "Home Email": "email"})
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == {"mapping.Work Email", "mapping.Home Email"}
    assert "Home Email" in fields["mapping.Work Email"][0]
    assert "Work Email" in fields["mapping.Home Email"][0]


def test_an_unknown_target_is_refused_next_to_its_column(workspace, marketer, api):
    response = upload(api(marketer), PEOPLE, {**MAPPING, "Notes": "traits.has space"})
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["mapping.Notes"]


def test_a_dynamic_segment_is_not_a_list_to_import_into(workspace, marketer, api):
    now = timezone.now()
    dynamic = Segment.objects.create(workspace=workspace, name="Pros", rule={}, created_at=now, updated_at=now)
    assert dynamic.kind == Segment.Kind.DYNAMIC
    response = upload(api(marketer), PEOPLE, MAPPING, list=dynamic.id)
    assert response.status_code == 400
    assert "list" in response.json()["fields"]
    assert not ImportJob.objects.exists()


def test_another_workspaces_list_is_no_such_list(workspace, other_workspace, marketer, api):
    theirs = static_list(other_workspace)
    response = upload(api(marketer), PEOPLE, MAPPING, list=theirs.id)
    assert response.status_code == 400
    assert "no such list" in response.json()["fields"]["list"][0]
    assert not ImportJob.objects.exists()


def test_an_existing_name_for_the_new_list_is_refused(workspace, marketer, api):
    static_list(workspace, "Spring fair")
    response = upload(api(marketer), PEOPLE, MAPPING, new_list="Spring fair")
    assert response.status_code == 400
    assert "new_list" in response.json()["fields"]


def test_a_viewer_can_neither_preview_nor_import(workspace, qa, api):
    client = api(qa)
    assert preview(client, PEOPLE).status_code == 403
    assert upload(client, PEOPLE, MAPPING).status_code == 403
    assert not ImportJob.objects.exists()


def test_a_binary_file_is_refused(workspace, marketer, api):
    blob = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    client = api(marketer)
    for path, body in (
        ("/api/imports/preview", {}),
        ("/api/imports", {"kind": "contacts"}),
    ):
        response = client.post(path, {**body, "file": SimpleUploadedFile("logo.csv", blob, "text/csv")})
        assert response.status_code == 400, path
        assert "file" in response.json()["fields"]
    utf8_with_nul = SimpleUploadedFile("x.csv", b"email\nada@shop.test\x00\x01\n", "text/csv")
    response = client.post("/api/imports/preview", {"file": utf8_with_nul})
    assert (response.status_code, response.json()["code"]) == (400, "not_csv")


def test_a_file_that_starts_like_a_plan_line_is_read_as_csv(workspace, marketer, api):
    """The plan travels as the job's first line: a file's own first line must not pass for one."""
    other = static_list(workspace, "Not chosen")
    text = f'{imports.PLAN_LINE}{{"list": {{"id": {other.id}, "name": "x"}}}}\nemail\nada@shop.test\n'
    response = api(marketer).post("/api/imports", {"kind": "contacts", "content": text}, format="json")
    assert response.status_code == 201, response.content
    job = run(response.json()["id"])
    assert job.status == "failed"  # its header has no email column
    assert api(marketer).get(f"/api/imports/{job.id}").json()["list"] is None
    assert member_emails(api(marketer), other.id) == []


def test_a_products_import_takes_no_mapping_or_list(workspace, marketer, api):
    segment = static_list(workspace)
    body = {"kind": "products", "content": "sku,name,price\nA,B,1\n", "list": segment.id}
    response = api(marketer).post("/api/imports", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["list"]


def test_a_column_mapped_to_traits_email_keeps_its_own_value(workspace, marketer, api):
    """The contact's email goes into traits.email unless the marketer mapped a column there."""
    text = "Email,Work email,Name\nada@shop.test,ada@work.test,Ada\nbob@shop.test,,Bob\n"
    mapping = {"Email": "email", "Work email": "traits.email", "Name": "first_name"}
    imported(api(marketer), text, mapping)
    ada = Contact.objects.get(workspace=workspace, email="ada@shop.test")
    assert ada.traits["email"] == "ada@work.test"
    bob = Contact.objects.get(workspace=workspace, email="bob@shop.test")
    assert bob.traits["email"] == "bob@shop.test"  # the mapped cell is empty: nothing of it to keep
