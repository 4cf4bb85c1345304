"""Which of SPF, DKIM and DMARC a sending domain still needs (Gmail and Yahoo require all three of
bulk senders). DNS lookups go through an injectable resolver: tests pass a fake one, the real one
(dnspython) asks the network. Also: DKIM key generation for the settings page."""

import base64
import re

import dns.exception
import dns.resolver
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

OK, MISSING, WEAK, ERROR = "ok", "missing", "weak", "error"


def default_resolver():
    resolver = dns.resolver.Resolver()
    resolver.lifetime = 3.0
    return resolver


def txt_records(resolver, name):
    """The TXT strings at `name`: [] when there are none; raises LookupError when DNS fails."""
    try:
        answer = resolver.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.DNSException, OSError) as error:
        raise LookupError(f"DNS lookup of {name} failed: {error.__class__.__name__}") from error
    records = []
    for rdata in answer:
        strings = getattr(rdata, "strings", None)
        if strings is None:
            records.append(str(rdata).strip('"'))
        else:
            records.append(
                b"".join(s if isinstance(s, bytes) else s.encode() for s in strings).decode(errors="replace")
            )
    return records


def public_key_of(private_pem):
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def generate_dkim_key(bits=2048):
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def dkim_record(private_pem):
    return f"v=DKIM1; k=rsa; p={public_key_of(private_pem)}"


def _check(resolver, name, pick, judge):
    try:
        records = [r for r in txt_records(resolver, name) if pick(r)]
    except LookupError as error:
        return {"status": ERROR, "name": name, "record": "", "detail": str(error)}
    if not records:
        return {"status": MISSING, "name": name, "record": "", "detail": "No record found."}
    status, detail = judge(records[0], records)
    return {"status": status, "name": name, "record": records[0], "detail": detail}


def check_domain(domain, selector="", private_key="", resolver=None):
    """{"spf": {...}, "dkim": {...}, "dmarc": {...}} each with status ok / missing / weak / error,
    the record found, and what to publish when something is missing."""
    resolver = resolver or default_resolver()
    domain = domain.strip().lower().rstrip(".")

    def spf_judge(record, records):
        if len(records) > 1:
            return WEAK, "More than one SPF record: receivers treat that as an error."
        if re.search(r"\s\+all\b", record):
            return WEAK, "“+all” lets anyone send as this domain."
        return OK, "SPF is published."

    def dmarc_judge(record, records):
        policy = re.search(r"\bp=(\w+)", record)
        if not policy:
            return WEAK, "The DMARC record has no policy (p=)."
        return OK, f"DMARC policy: {policy.group(1)}."

    expected_key = public_key_of(private_key) if private_key else ""

    def dkim_judge(record, records):
        published = re.search(r"\bp=([A-Za-z0-9+/=\s]+)", record)
        if not published or not published.group(1).strip():
            return WEAK, "The DKIM record has no public key (revoked?)."
        if expected_key and re.sub(r"\s", "", published.group(1)) != expected_key:
            return WEAK, "The published key is not the workspace's key."
        return OK, "DKIM key is published."

    result = {
        "domain": domain,
        "spf": _check(resolver, domain, lambda r: r.lower().startswith("v=spf1"), spf_judge),
        "dmarc": _check(resolver, f"_dmarc.{domain}", lambda r: r.upper().startswith("V=DMARC1"), dmarc_judge),
    }
    if selector:
        result["dkim"] = _check(
            resolver, f"{selector}._domainkey.{domain}", lambda r: "p=" in r or "v=DKIM1" in r, dkim_judge
        )
    else:
        result["dkim"] = {"status": MISSING, "name": "", "record": "", "detail": "No DKIM key is configured."}
    advice = {
        "spf": f'TXT {domain}: "v=spf1 include:<your provider> ~all"',
        "dmarc": f'TXT _dmarc.{domain}: "v=DMARC1; p=none; rua=mailto:dmarc@{domain}"',
        "dkim": f'TXT {selector or "<selector>"}._domainkey.{domain}: "'
        + (dkim_record(private_key) if private_key else "v=DKIM1; k=rsa; p=<public key>")
        + '"',
    }
    for key in ("spf", "dkim", "dmarc"):
        result[key]["publish"] = advice[key] if result[key]["status"] != OK else ""
    result["needs"] = [key.upper() for key in ("spf", "dkim", "dmarc") if result[key]["status"] != OK]
    return result
