"""CSV imports run in a worker, report per-row errors, and import nothing on a fatal error."""

from django.core.files.uploadedfile import SimpleUploadedFile

from journeys.customers import catalog, imports
from journeys.models import Contact, ImportJob, Product


def upload(client, kind, text, name="data.csv"):
    return client.post("/api/imports", {"kind": kind, "file": SimpleUploadedFile(name, text.encode(), "text/csv")})


def run(job_id):
    imports.run_import(job_id)
    return ImportJob.objects.get(pk=job_id)


def test_products_import_with_a_row_error_report(workspace, marketer, api):
    csv = "sku,name,price,stock,tags,color\nA-1,Tent,199,4,camp;2p,green\nA-2,Socks,abc,1,,\nA-3,Stove,55.5,,,\n"
    response = upload(api(marketer), "products", csv)
    assert response.status_code == 201, response.content
    job = run(response.json()["id"])
    assert (job.status, job.created_count, job.rows_total) == ("done", 2, 3)
    assert job.row_errors == [{"row": 3, "field": "price", "error": "price is not a number."}]
    tent = Product.objects.get(sku="A-1")
    assert (tent.tags, tent.attributes, tent.stock) == (["camp", "2p"], {"color": "green"}, 4)
    polled = api(marketer).get(f"/api/imports/{job.id}").json()
    assert (polled["progress"], polled["status"]) == (100, "done")


def test_contacts_import_creates_and_updates(workspace, marketer, api):
    Contact.objects.create(workspace=workspace, email="old@example.com", traits={"plan": "free"})
    csv = (
        "email,first_name,plan,country,timezone,consent.newsletter\n"
        "old@example.com,Old,pro,DE,Europe/Berlin,yes\n"
        "new@example.com,New,free,France,,no\n"
        "bad-address,X,,,,\n"
    )
    job = run(upload(api(marketer), "contacts", csv).json()["id"])
    assert (job.status, job.created_count, job.updated_count) == ("done", 1, 1)
    assert job.row_errors[0]["row"] == 4
    old = Contact.objects.get(email="old@example.com")
    assert (old.traits["plan"], old.country, old.timezone, old.consent) == (
        "pro",
        "DE",
        "Europe/Berlin",
        {"newsletter": True},
    )
    assert Contact.objects.get(email="new@example.com").country == "FR"


def test_a_missing_required_column_imports_nothing(workspace, marketer, api):
    job = run(upload(api(marketer), "products", "sku,name\nA,B\n").json()["id"])
    assert job.status == "failed"
    assert "price" in job.error
    assert not Product.objects.exists()


def test_a_failure_while_saving_rolls_everything_back(workspace, marketer, api, monkeypatch):
    csv = "sku,name,price\n" + "".join(f"S-{n},Item {n},{n}\n" for n in range(1, 1201))
    job_id = upload(api(marketer), "products", csv).json()["id"]
    real = catalog.upsert_products
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the second chunk of 500 fails after the first was written
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(catalog, "upsert_products", failing)
    job = run(job_id)
    assert job.status == "failed"
    assert "nothing was imported" in job.error
    assert not Product.objects.exists()
    assert job.content == ""


def test_a_non_utf8_file_is_refused(workspace, marketer, api):
    response = api(marketer).post(
        "/api/imports",
        {"kind": "products", "file": SimpleUploadedFile("x.csv", "sku,name,price\nä,b,1".encode("latin-1"))},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "not_utf8"


def test_a_job_runs_once(workspace, marketer, api):
    job_id = upload(api(marketer), "products", "sku,name,price\nA,B,1\n").json()["id"]
    assert imports.run_import(job_id) is not None
    assert imports.run_import(job_id) is None
