"""CSV imports of contacts and products, with progress stored as they run: every row checked,
then every good row saved in one transaction (a fatal error imports nothing)."""

import csv
import io
import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Q

from accounts.actions import record_audit
from accounts.errors import DomainError

from .. import clock, kicks
from ..models import Contact, ImportJob
from . import catalog, commerce, identity
from .events import iso

log = logging.getLogger(__name__)

MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_IMPORT_ROWS = 100_000
PROGRESS_EVERY = 200


def start_import(workspace, actor, kind, filename, content):
    if kind not in ImportJob.Kind.values:
        raise DomainError(
            "Choose what to import: contacts or products.", code="invalid_kind", fields={"kind": ["Unknown kind."]}
        )
    if len(content.encode()) > MAX_IMPORT_BYTES:
        raise DomainError(
            "The file is larger than 20 MB; split it.", code="file_too_large", fields={"file": ["Too large."]}
        )
    with transaction.atomic():
        job = ImportJob.objects.create(
            workspace=workspace, kind=kind, filename=filename[:255], content=content, created_by=actor
        )
        record_audit(workspace, actor, "import.started", filename[:200], kind=kind)
        transaction.on_commit(lambda: _enqueue_import(job.pk))
    return job


def _enqueue_import(job_id):
    kicks.enqueue("journeys.customers.tasks.run_import", job_id, task_name=f"import-{job_id}")


class FatalImportError(Exception):
    pass


def run_import(job_id):
    """Check every row (progress stored as it goes), then save all good rows in one transaction.

    Rows with errors are skipped and reported; a fatal error (unreadable file, missing column,
    a failure while saving) imports nothing. Idempotent: the job is claimed by a conditional UPDATE.
    """
    now = clock.now()
    claimed = ImportJob.objects.filter(
        Q(status=ImportJob.Status.QUEUED)
        | Q(status=ImportJob.Status.RUNNING, started_at__lt=now - timedelta(minutes=15)),
        pk=job_id,
    ).update(status=ImportJob.Status.RUNNING, phase="checking", started_at=now, rows_done=0)
    if not claimed:
        return None
    job = ImportJob.objects.select_related("workspace").get(pk=job_id)
    try:
        reader = csv.DictReader(io.StringIO(job.content.lstrip("\ufeff")))
        if not reader.fieldnames:
            raise FatalImportError("The file is empty or is not a CSV file.")
        columns = [name.strip() for name in reader.fieldnames]
        check = _check_product_row if job.kind == ImportJob.Kind.PRODUCTS else _check_contact_row
        _check_columns(job.kind, columns)
        rows = list(reader)
        if len(rows) > MAX_IMPORT_ROWS:
            raise FatalImportError(f"The file has {len(rows)} rows; at most {MAX_IMPORT_ROWS} can be imported at once.")
        ImportJob.objects.filter(pk=job_id).update(rows_total=len(rows))
        good, errors = [], []
        for number, raw in enumerate(rows, start=2):  # row 1 is the header
            row = {
                (key or "").strip(): (value or "").strip() if isinstance(value, str) else ""
                for key, value in raw.items()
            }
            problems, clean = check(row)
            if problems:
                errors += [{"row": number, "field": field, "error": message} for field, message in problems]
            else:
                good.append((number, clean))
            if (number - 1) % PROGRESS_EVERY == 0:
                ImportJob.objects.filter(pk=job_id).update(rows_done=number - 1)
        ImportJob.objects.filter(pk=job_id).update(rows_done=len(rows), phase="saving", row_errors=errors[:1000])
        with transaction.atomic():
            if job.kind == ImportJob.Kind.PRODUCTS:
                result = _save_products(job, good)
            else:
                result = _save_contacts(job, good)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.DONE,
            phase="",
            created_count=result["created"],
            updated_count=result["updated"],
            finished_at=clock.now(),
            content="",
        )
    except FatalImportError as error:
        _fail_import(job_id, str(error))
    except Exception as error:
        log.exception("import %s failed", job_id)
        _fail_import(job_id, f"The import failed and nothing was imported: {type(error).__name__}: {error}")
    return ImportJob.objects.get(pk=job_id)


def _fail_import(job_id, message):
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.FAILED,
        phase="",
        error=message[:2000],
        finished_at=clock.now(),
        created_count=0,
        updated_count=0,
        content="",
    )


def _check_columns(kind, columns):
    if kind == ImportJob.Kind.PRODUCTS:
        missing = [name for name in ("sku", "name", "price") if name not in columns]
        if missing:
            raise FatalImportError(f"The file has no {', '.join(missing)} column; products need sku, name and price.")
    elif "email" not in columns and "user_id" not in columns:
        raise FatalImportError("The file has neither an email nor a user_id column; contacts need one of them.")


def _check_product_row(row):
    problems, clean = [], {}
    sku = row.get("sku", "")
    if not sku:
        problems.append(("sku", "sku is empty."))
    elif len(sku) > 100:
        problems.append(("sku", "sku is longer than 100 characters."))
    clean["sku"] = sku
    if not row.get("name"):
        problems.append(("name", "name is empty."))
    clean["name"] = row.get("name", "")[:500]
    price = commerce.money(row.get("price"))
    if price is None or price < 0:
        problems.append(("price", "price is not a number."))
    clean["price"] = price
    if row.get("currency"):
        if len(row["currency"]) != 3 or not row["currency"].isalpha():
            problems.append(("currency", "currency is not a 3-letter code."))
        clean["currency"] = row["currency"].upper()
    if row.get("stock"):
        try:
            clean["stock"] = int(row["stock"])
        except ValueError:
            problems.append(("stock", "stock is not a whole number."))
    for key in ("url", "image_url"):
        if row.get(key):
            if not row[key].startswith(("http://", "https://")):
                problems.append((key, f"{key} is not an http(s) URL."))
            clean[key] = row[key]
    if row.get("category"):
        clean["category"] = row["category"][:200]
    if row.get("tags"):
        clean["tags"] = [
            tag.strip() for tag in row["tags"].replace(";", ",").replace("|", ",").split(",") if tag.strip()
        ]
    known = {"sku", "name", "price", "currency", "stock", "url", "image_url", "category", "tags"}
    attributes = {key: value for key, value in row.items() if key and key not in known and value != ""}
    if attributes:
        clean["attributes"] = attributes
    return problems, clean


CONTACT_COLUMNS = {"email", "user_id", "timezone", "locale", "country", "city"}


def _check_contact_row(row):
    problems, clean = [], {}
    email = row.get("email", "")
    user_id = row.get("user_id", "")
    if not email and not user_id:
        problems.append(("email", "the row has neither an email nor a user_id."))
    if email:
        clean["email"] = identity.email_address(email)
        if clean["email"] is None:
            problems.append(("email", "email is not a valid address."))
    if user_id:
        if len(user_id) > 255:
            problems.append(("user_id", "user_id is longer than 255 characters."))
        clean["user_id"] = user_id
    if row.get("timezone"):
        clean["timezone"] = identity.timezone_name(row["timezone"])
        if clean["timezone"] is None:
            problems.append(("timezone", "timezone is not an IANA time zone such as Europe/Berlin."))
    if row.get("locale"):
        clean["locale"] = identity.locale_tag(row["locale"])
        if clean["locale"] is None:
            problems.append(("locale", "locale is not a language tag such as de-DE."))
    if row.get("country"):
        clean["country"] = identity.country_code(row["country"])
        if clean["country"] is None:
            problems.append(("country", "country is not a country name or ISO code."))
    if row.get("city"):
        clean["city"] = row["city"][:120]
    traits = {}
    for key, value in row.items():
        if not key or key in CONTACT_COLUMNS or value == "":
            continue
        if key.startswith("consent."):
            if value.lower() not in ("true", "false", "yes", "no", "1", "0"):
                problems.append((key, f"{key} must be true or false."))
            clean.setdefault("consent", {})[key[len("consent.") :]] = value.lower() in ("true", "yes", "1")
            continue
        traits[key] = value
    if email and clean.get("email"):
        traits["email"] = clean["email"]
    clean["traits"] = traits
    return problems, clean


def _save_products(job, good):
    by_sku = {}
    for _number, item in good:
        by_sku[item["sku"]] = item  # a sku repeated in the file: the last row wins
    result = {"created": 0, "updated": 0}
    items = list(by_sku.values())
    for start in range(0, len(items), 500):
        chunk = catalog.upsert_products(job.workspace, items[start : start + 500])
        result["created"] += chunk["created"]
        result["updated"] += chunk["updated"]
    record_audit(job.workspace, job.created_by, "import.finished", job.filename[:200], kind=job.kind, **result)
    return result


def _save_contacts(job, good):
    at = iso(clock.now())
    workspace_id = job.workspace_id
    result = {"created": 0, "updated": 0}
    for _number, row in good:
        contact = None
        if row.get("user_id"):
            contact = identity.contact_for(workspace_id, row["user_id"], email=row.get("email"))
        else:
            contact = (
                Contact.objects.filter(workspace_id=workspace_id, email__iexact=row["email"], merged_into=None)
                .order_by("id")
                .first()
            )
            if contact is None:
                contact = Contact.objects.create(workspace_id=workspace_id)
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        fresh = not contact.field_timestamps and not contact.traits and not contact.email
        updates = {f"traits.{key}": value for key, value in row["traits"].items()}
        updates.update({key: row[key] for key in ("email", "timezone", "locale", "country", "city") if row.get(key)})
        identity.apply_profile(contact, updates, at)
        if row.get("consent"):
            contact.consent = {**contact.consent, **row["consent"]}
        contact.updated_at = clock.now()
        contact.save()
        result["created" if fresh else "updated"] += 1
    record_audit(job.workspace, job.created_by, "import.finished", job.filename[:200], kind=job.kind, **result)
    return result
