"""Queries a worker makes for every event use an index on PostgreSQL: at a million contacts a scan
per event is seconds per event (bench/segments.py found one: the email-only contact an identify
adopts was matched ignoring case, which the (workspace, email) index cannot serve)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from journeys.customers import identity
from journeys.models import SegmentMembership

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def plan(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # what the planner can use, not what it prefers on 0 rows
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_email_only_contact_an_identify_adopts_is_found_by_an_index(workspace):
    with CaptureQueriesContext(connection) as queries:
        identity._adopt_email_contact(workspace.pk, "Ann@Example.com")
    [query] = queries.captured_queries
    assert "contact_email_only_ci_idx" in plan(query["sql"])


def test_a_segments_member_count_reads_the_open_rows_index(workspace):
    sql, params = SegmentMembership.objects.filter(segment_id=1, left_at__isnull=True).query.sql_with_params()
    assert "segment_membership_one_open" in plan(sql, params)
