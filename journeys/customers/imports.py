"""CSV imports of contacts and products, with progress stored as they run: every row checked,
then every good row saved in one transaction (a fatal error imports nothing).

A contact import may carry a plan: a column mapping (chosen by the marketer after a preview of the
first rows, see `preview_contacts`) and a static list to put the imported contacts in. Without a
mapping, columns are read by today's names (`default_mapping`). The plan travels with the job as the
first line of `ImportJob.content` (`PLAN_LINE`), which keeps only that line once the job is done.
"""

import csv
import io
import json
import logging
import re
from datetime import timedelta

from django.db import transaction
from django.db.models import Q

from accounts.actions import record_audit
from accounts.errors import DomainError

from .. import clock, kicks
from ..models import Contact, ImportJob, Segment
from . import catalog, commerce, identity, segments
from .events import iso

log = logging.getLogger(__name__)

MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_IMPORT_ROWS = 100_000
MAX_COLUMNS = 200
MAX_COLUMN_NAME = 200  # characters of a header cell
MAX_LINE_CHARS = 100_000  # characters of one line of the file
PREVIEW_ROWS = 10
PREVIEW_CELL_CHARS = 200  # a preview cell is cut to this
PROGRESS_EVERY = 200

# -- The column mapping of a contact import --------------------------------------------------------
#
# A mapping is {column name: target}. A target is one of FIELD_TARGETS, "traits.<name>",
# "consent.<topic>" or "skip"; a column the mapping does not name is skipped.

PROFILE_FIELDS = ("email", "user_id", "timezone", "locale", "country", "city")  # columns of Contact
NAME_TRAITS = ("first_name", "last_name", "phone")  # traits by these names (the contact context reads them)
FIELD_TARGETS = ("email", "user_id", "first_name", "last_name", "phone", "timezone", "locale", "country", "city")
IDENTIFIERS = ("email", "user_id")
SKIP = "skip"
TRAIT_PREFIX, CONSENT_PREFIX = "traits.", "consent."
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")  # a trait or consent topic: usable in Liquid and rules

# Header cells people write for each field, compared without case, spaces and punctuation.
SYNONYMS = {
    "email": {"email", "emailaddress", "mail", "emailid"},
    "user_id": {"userid", "externalid", "customerid", "clientid", "memberid", "contactid", "id"},
    "first_name": {"firstname", "first", "givenname", "forename"},
    "last_name": {"lastname", "last", "surname", "familyname"},
    "phone": {"phone", "phonenumber", "mobile", "mobilephone", "mobilenumber", "cell", "tel", "telephone", "sms"},
    "timezone": {"timezone", "tz", "zone"},
    "locale": {"locale", "language", "lang"},
    "country": {"country", "countrycode", "countryname"},
    "city": {"city", "town"},
}
_BY_SYNONYM = {word: target for target, words in SYNONYMS.items() for word in words}


def _squash(name):
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _trait_name(name):
    """'Favourite Colour' -> 'favourite_colour'; '' when nothing usable is left."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:64]
    if slug and slug[0].isdigit():
        slug = f"_{slug}"[:64]
    return slug if NAME_RE.match(slug) else ""


def suggest_mapping(columns):
    """The target each column most likely means; each target at most once (later columns that
    would repeat one become traits)."""
    mapping, taken = {}, set()
    for name in columns:
        target = SKIP
        lowered = name.lower()
        if lowered.startswith(("consent.", "consent:", "consent_")) and NAME_RE.match(name[len("consent.") :]):
            target = CONSENT_PREFIX + name[len("consent.") :]
        elif _BY_SYNONYM.get(_squash(name)):
            target = _BY_SYNONYM[_squash(name)]
        if target in taken or target == SKIP:
            trait = _trait_name(name)
            target = TRAIT_PREFIX + trait if trait and TRAIT_PREFIX + trait not in taken else SKIP
        if target != SKIP:
            taken.add(target)
        mapping[name] = target
    return mapping


def default_mapping(columns):
    """How an import without a mapping reads its columns (as it always has): the profile fields
    by their names, consent.<topic> columns as consent, any other column a trait by its name."""
    mapping = {}
    for name in columns:
        if not name:
            mapping[name] = SKIP
        elif name in PROFILE_FIELDS:
            mapping[name] = name
        elif name.startswith(CONSENT_PREFIX):
            mapping[name] = name
        else:
            mapping[name] = TRAIT_PREFIX + name
    return mapping


def validate_mapping(columns, mapping):
    """Field errors ({"mapping.<column>": [message]}) for a mapping chosen by the marketer."""
    if not isinstance(mapping, dict):
        return {"mapping": ["A mapping is an object: {column: target}."]}
    if len(mapping) > MAX_COLUMNS:
        return {"mapping": [f"A mapping names at most {MAX_COLUMNS} columns."]}
    errors, by_target = {}, {}
    known = set(columns)
    for column, target in mapping.items():
        key = f"mapping.{column}"
        if column not in known:
            errors[key] = [f"The file has no column “{column}”."]
            continue
        if not isinstance(target, str):
            errors[key] = ["Choose a target for this column."]
            continue
        if target == SKIP:
            continue
        if target.startswith((TRAIT_PREFIX, CONSENT_PREFIX)):
            is_trait = target.startswith(TRAIT_PREFIX)
            what = "trait" if is_trait else "consent topic"
            name = target[len(TRAIT_PREFIX if is_trait else CONSENT_PREFIX) :]
            if not NAME_RE.match(name):
                errors[key] = [
                    f"“{name}” is not a valid {what} name: letters, digits and _, starting with a letter or _,"
                    " at most 64 characters."
                ]
                continue
        elif target not in FIELD_TARGETS:
            errors[key] = [
                f"Unknown target “{target[:100]}”: choose a contact field, a trait, a consent topic or skip."
            ]
            continue
        by_target.setdefault(target, []).append(column)
    for target, named in by_target.items():
        if len(named) > 1:
            for column in named:
                others = ", ".join(f"“{other}”" for other in named if other != column)
                errors.setdefault(f"mapping.{column}", []).append(
                    f"{others} also goes to {_target_label(target)}: map only one column to it."
                )
    if not errors and not any(target in by_target for target in IDENTIFIERS):
        errors["mapping"] = ["Map a column to email or to user_id: contacts are matched by them."]
    return errors


def _target_label(target):
    if target.startswith(TRAIT_PREFIX):
        return f"the trait {target[len(TRAIT_PREFIX) :]}"
    if target.startswith(CONSENT_PREFIX):
        return f"the consent topic {target[len(CONSENT_PREFIX) :]}"
    return target


# -- Reading the file (bounded) --------------------------------------------------------------------


class FatalImportError(Exception):
    pass


def _lines(text):
    """The file's lines, refusing one longer than MAX_LINE_CHARS (a binary file or a crafted one)."""
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        if len(line) > MAX_LINE_CHARS:
            raise FatalImportError(f"Line {number} is longer than {MAX_LINE_CHARS:,} characters: is this a CSV file?")
        yield line


def _records(text):
    """The CSV records of `text` (a BOM dropped), blank lines skipped; unreadable CSV is fatal."""
    reader = csv.reader(_lines(text.lstrip("\ufeff")))
    try:
        for cells in reader:
            if cells:
                yield cells
    except csv.Error as error:
        raise FatalImportError(f"Line {reader.line_num} cannot be read as CSV: {error}.") from None


def _header(records):
    cells = next(records, None)
    if not cells:
        raise FatalImportError("The file is empty or is not a CSV file.")
    if len(cells) > MAX_COLUMNS:
        raise FatalImportError(f"The file has {len(cells):,} columns; at most {MAX_COLUMNS} can be imported.")
    columns = [cell.strip() for cell in cells]
    for number, name in enumerate(columns, start=1):
        if len(name) > MAX_COLUMN_NAME:
            raise FatalImportError(f"The name of column {number} is longer than {MAX_COLUMN_NAME} characters.")
    return columns


def _refuse_binary(content):
    if "\x00" in content:
        raise DomainError(
            "The file holds binary data (NUL characters): export it as a CSV text file.",
            code="not_csv",
            fields={"file": ["Not a text file."]},
        )


def _file_error(error):
    return DomainError(str(error), code="not_csv", fields={"file": [str(error)]})


def _unique_columns(columns):
    seen = set()
    for name in columns:
        if name in seen:
            label = f"“{name}”" if name else "without a name"
            raise DomainError(
                f"Two columns are {'named ' if name else ''}{label}: rename one and upload the file again.",
                code="duplicate_column",
                fields={"file": [f"Two columns {'named ' if name else ''}{label}."]},
            )
        seen.add(name)


def preview_contacts(content):
    """The header and the first PREVIEW_ROWS rows of a contact CSV, with a suggested mapping; reads
    no further than those rows. Raises DomainError (400) for a file it cannot read."""
    _refuse_binary(content)
    records = _records(content)
    try:
        columns = _header(records)
        rows = []
        for cells in records:
            rows.append([cell.strip()[:PREVIEW_CELL_CHARS] for cell in cells[: len(columns)]])
            rows[-1] += [""] * (len(columns) - len(rows[-1]))
            if len(rows) == PREVIEW_ROWS:
                break
    except FatalImportError as error:
        raise _file_error(error) from None
    _unique_columns(columns)
    return {
        "columns": columns,
        "suggested": suggest_mapping(columns),
        "rows": rows,
        "fields": list(FIELD_TARGETS),
    }


# -- Starting an import ----------------------------------------------------------------------------

PLAN_LINE = "#wayline-import-plan "  # the first line of a planned job's content: this, then JSON


def start_import(workspace, actor, kind, filename, content, mapping=None, list_id=None, new_list=""):
    """Queue an import. For contacts, `mapping` ({column: target}) says what each column is, and
    `list_id` (a static list of the workspace) or `new_list` (the name of a list created now)
    receives every imported contact. Refuses (DomainError, fields naming the part) before queuing."""
    if kind not in ImportJob.Kind.values:
        raise DomainError(
            "Choose what to import: contacts or products.", code="invalid_kind", fields={"kind": ["Unknown kind."]}
        )
    if len(content.encode()) > MAX_IMPORT_BYTES:
        raise DomainError(
            "The file is larger than 20 MB; split it.", code="file_too_large", fields={"file": ["Too large."]}
        )
    _refuse_binary(content)
    try:
        columns = _header(_records(content))
    except FatalImportError as error:
        raise _file_error(error) from None
    planned = mapping is not None or list_id is not None or bool(new_list)
    if planned and kind != ImportJob.Kind.CONTACTS:
        part = "mapping" if mapping is not None else "list" if list_id is not None else "new_list"
        raise DomainError("Only contact imports take a mapping or a list.", fields={part: ["Contacts only."]})
    fields = {}
    if mapping is not None:
        _unique_columns(columns)
        fields.update(validate_mapping(columns, mapping))
    segment = None
    if list_id is not None and new_list:
        fields["list"] = ["Choose an existing list or name a new one, not both."]
    elif list_id is not None:
        segment = Segment.objects.filter(workspace=workspace, pk=list_id).first()
        if segment is None:
            fields["list"] = ["There is no such list in this workspace."]
        elif segment.kind != Segment.Kind.STATIC:
            fields["list"] = [
                f"“{segment.name}” is a dynamic segment (its rule decides who is in it): choose a static list."
            ]
    elif new_list:
        new_list = new_list.strip()
        if not new_list or len(new_list) > 200:
            fields["new_list"] = ["A list name has 1 to 200 characters."]
        elif Segment.objects.filter(workspace=workspace, name=new_list).exists():
            fields["new_list"] = [f"A segment named “{new_list}” exists already."]
    if fields:
        key, messages = next(iter(fields.items()))
        where = f"Column “{key[len('mapping.') :]}”" if key.startswith("mapping.") else key
        raise DomainError(f"{where}: {messages[0]}", fields=fields)
    with transaction.atomic():
        if new_list:
            segment = _create_list(workspace, actor, new_list)
        plan = {}
        if mapping is not None:
            plan["mapping"] = {column: mapping.get(column, SKIP) for column in columns}
        if segment is not None:
            plan["list"] = {"id": segment.pk, "name": segment.name}
        job = ImportJob.objects.create(
            workspace=workspace,
            kind=kind,
            filename=filename[:255],
            content=_with_plan(plan, content),
            created_by=actor,
        )
        record_audit(workspace, actor, "import.started", filename[:200], kind=kind, list=plan.get("list"))
        transaction.on_commit(lambda: _enqueue_import(job.pk))
    return job


def _create_list(workspace, actor, name):
    try:
        segment = segments.create_segment(workspace, actor, {"name": name, "kind": Segment.Kind.STATIC}, clock.now())
    except segments.SegmentError as error:  # the name, taken meanwhile
        fields = {("new_list" if key == "name" else key): value for key, value in error.fields.items()}
        raise DomainError(error.message, code=error.code, fields=fields) from None
    record_audit(workspace, actor, "segment.created", segment.name)
    return segment


def _with_plan(plan, content):
    # A file whose own first line starts like a plan line gets an empty plan line before it, so
    # that its text is never read as a plan (a mapping or a list that was never validated).
    if plan or content.startswith(PLAN_LINE):
        return f"{PLAN_LINE}{json.dumps(plan)}\n{content}"
    return content


def _plan_only(plan):
    """What a finished job keeps of its content: the plan line, without the rows."""
    return f"{PLAN_LINE}{json.dumps(plan)}" if plan else ""


def plan_of(job):
    """(plan, csv text) of a job: {"mapping": {...}?, "list": {"id", "name"}?, "added": n?}."""
    content = job.content
    if not content.startswith(PLAN_LINE):
        return {}, content
    line, _, rest = content.partition("\n")
    return json.loads(line[len(PLAN_LINE) :]), rest


def job_plan(job):
    """The plan of a job without copying its rows (the progress is polled while a large file runs)."""
    content = job.content
    if not content.startswith(PLAN_LINE):
        return {}
    end = content.find("\n")
    return json.loads(content[len(PLAN_LINE) : end if end >= 0 else None])


def _enqueue_import(job_id):
    kicks.enqueue("journeys.customers.tasks.run_import", job_id, task_name=f"import-{job_id}")


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
    plan = {}
    try:
        plan, text = plan_of(job)
        records = _records(text)
        columns = _header(records)
        if job.kind == ImportJob.Kind.PRODUCTS:
            _check_product_columns(columns)
            check = _product_row_reader(columns)
        else:
            mapping = plan.get("mapping")
            if mapping is None:
                mapping = default_mapping(columns)
                if not any(mapping.get(name) in IDENTIFIERS for name in columns):
                    raise FatalImportError(
                        "The file has neither an email nor a user_id column; contacts need one of them."
                    )
            check = _contact_row_reader(columns, mapping)
        rows = list(records)
        if len(rows) > MAX_IMPORT_ROWS:
            raise FatalImportError(f"The file has {len(rows)} rows; at most {MAX_IMPORT_ROWS} can be imported at once.")
        ImportJob.objects.filter(pk=job_id).update(rows_total=len(rows))
        good, errors = [], []
        for number, cells in enumerate(rows, start=2):  # row 1 is the header
            problems, clean = check([cell.strip() for cell in cells])
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
                result = _save_contacts(job, good, plan.get("list"))
        if "added" in result:
            plan["added"] = result["added"]
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.DONE,
            phase="",
            created_count=result["created"],
            updated_count=result["updated"],
            finished_at=clock.now(),
            content=_plan_only(plan),
        )
    except FatalImportError as error:
        _fail_import(job_id, str(error), plan)
    except Exception as error:
        log.exception("import %s failed", job_id)
        _fail_import(job_id, f"The import failed and nothing was imported: {type(error).__name__}: {error}", plan)
    return ImportJob.objects.get(pk=job_id)


def _fail_import(job_id, message, plan=None):
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.FAILED,
        phase="",
        error=message[:2000],
        finished_at=clock.now(),
        created_count=0,
        updated_count=0,
        content=_plan_only(plan),
    )


def _check_product_columns(columns):
    missing = [name for name in ("sku", "name", "price") if name not in columns]
    if missing:
        raise FatalImportError(f"The file has no {', '.join(missing)} column; products need sku, name and price.")


def _product_row_reader(columns):
    def check(cells):
        row = {}
        for name, value in zip(columns, cells, strict=False):
            row[name] = value  # a column named twice: the last one wins
        for name in columns[len(cells) :]:
            row.setdefault(name, "")
        return _check_product_row(row)

    return check


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


def _contact_row_reader(columns, mapping):
    """A function from a row's cells to (problems, clean) under `mapping`; a problem names the
    file's column, so the error report points at what the marketer sees."""
    placed = [(index, name, mapping.get(name, SKIP)) for index, name in enumerate(columns)]
    placed = [(index, name, target) for index, name, target in placed if target != SKIP]
    column_of = {target: name for _index, name, target in placed}

    def check(cells):
        record = {"traits": {}, "consent": {}}
        for index, _name, target in placed:
            value = cells[index] if index < len(cells) else ""
            if value == "":
                continue
            if target.startswith(TRAIT_PREFIX):
                record["traits"][target[len(TRAIT_PREFIX) :]] = value
            elif target.startswith(CONSENT_PREFIX):
                record["consent"][target[len(CONSENT_PREFIX) :]] = value
            elif target in NAME_TRAITS:
                record["traits"][target] = value
            else:
                record[target] = value
        problems, clean = _check_contact_row(record)
        return [(column_of.get(field, field), message) for field, message in problems], clean

    return check


def _check_contact_row(record):
    problems, clean = [], {}
    email = record.get("email", "")
    user_id = record.get("user_id", "")
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
    if record.get("timezone"):
        clean["timezone"] = identity.timezone_name(record["timezone"])
        if clean["timezone"] is None:
            problems.append(("timezone", "timezone is not an IANA time zone such as Europe/Berlin."))
    if record.get("locale"):
        clean["locale"] = identity.locale_tag(record["locale"])
        if clean["locale"] is None:
            problems.append(("locale", "locale is not a language tag such as de-DE."))
    if record.get("country"):
        clean["country"] = identity.country_code(record["country"])
        if clean["country"] is None:
            problems.append(("country", "country is not a country name or ISO code."))
    if record.get("city"):
        clean["city"] = record["city"][:120]
    for topic, value in record["consent"].items():
        if value.lower() not in ("true", "false", "yes", "no", "1", "0"):
            problems.append((CONSENT_PREFIX + topic, f"{CONSENT_PREFIX}{topic} must be true or false."))
        clean.setdefault("consent", {})[topic] = value.lower() in ("true", "yes", "1")
    traits = dict(record["traits"])
    if email and clean.get("email"):
        traits.setdefault("email", clean["email"])  # a column mapped to traits.email keeps its value
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


def _save_contacts(job, good, target_list=None):
    at = iso(clock.now())
    workspace_id = job.workspace_id
    result = {"created": 0, "updated": 0}
    segment = None
    if target_list:
        # Locked so that a delete of the list waits for the import (or the import sees it gone).
        segment = Segment.objects.select_for_update().filter(pk=target_list["id"], workspace_id=workspace_id).first()
        if segment is None:
            raise FatalImportError(f"The list “{target_list['name']}” was deleted meanwhile; nothing was imported.")
    imported = {}
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
        imported[contact.pk] = contact  # a contact on several rows joins the list once
    if segment is not None:
        result["added"] = segments.add_members(segment, list(imported.values()), clock.now())
    audit = {**result, "list": target_list["id"]} if target_list else result
    record_audit(job.workspace, job.created_by, "import.finished", job.filename[:200], kind=job.kind, **audit)
    return result
