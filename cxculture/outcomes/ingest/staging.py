"""PostgreSQL: an import batch is validated in SQL over its staged rows.

The batch's rows go into a session temp table as text with COPY (`raw_rows_stage`), then one
INSERT ... SELECT (`plain_rows_resolve`) resolves in the database every row that is plainly
good — a known active metric, a value written as a plain number (or yes/no) within its range,
an ISO 8601 time from 2000 on and not in the future, a team or agent that exists, lengths
within bounds, an external id — into `outcome_record_staging`, joined with metrics, teams and
people. Every other row (a bad one, or one written in a form this SQL does not take: an
exponent, a week date, a derived id...) is handed to `RowValidator` by its row number, so a
rejected row gets exactly the reasons it gets elsewhere, and Python has the last word on
anything unusual. The SQL only ever accepts a subset of what `RowValidator` accepts, with the
same value: a plain decimal reads the same in both, and a local time near a daylight-saving
change (where PostgreSQL and Python pick different offsets) is left to Python.
"""

import datetime as dt
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection

from cxculture.people.models import Employee, Team

from ..models import Metric
from .validation import ALL_COLUMNS, MAX_LENGTH, NO, YES
from .writer import STAGED_COLUMNS, STAGING, temp_table

RAW = "outcome_import_rows"
_RAW_COLUMNS = ("row_no", "source", *ALL_COLUMNS)
_RAW_DDL = "row_no integer, source text, " + ", ".join(f"{name} text" for name in ALL_COLUMNS)

# A plain decimal: at most 15 digits either side, so it reads the same as Python's float().
_NUMBER = r"^[+-]?[0-9]{1,15}(\.[0-9]{1,15})?$"
# ISO 8601 as most exports write it: a date from 2000 on, maybe a time, maybe Z or +hh:mm.
_ISO = (
    r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])?)?$"
)
_PRINTABLE_ASCII = r"^[!-~]+$"


def raw_rows_stage(rows: Iterable[tuple[int, str, Mapping[str, str]]]) -> bool:
    """COPY (row number, source, row) into the raw staging table; True if an agent is an email.

    Rows must hold no NUL character (PostgreSQL text cannot): those go to Python directly.
    """
    temp_table(RAW, _RAW_DDL)
    emails = False
    with connection.cursor() as cursor:
        names = ", ".join(_RAW_COLUMNS)
        with cursor.cursor.copy(f"COPY {RAW} ({names}) FROM STDIN") as copy:
            for row_number, source, row in rows:
                get = row.get
                agent = get("agent", "")
                emails = emails or "@" in agent
                copy.write_row(
                    (
                        row_number,
                        source,
                        get("metric", ""),
                        get("value", ""),
                        get("occurred_at", ""),
                        get("team_external_id", ""),
                        agent,
                        get("customer_ref", ""),
                        get("interaction_ref", ""),
                        get("external_id", ""),
                    )
                )
    return emails


def _words(words: set[str]) -> str:
    return ", ".join(f"'{word}'" for word in sorted(words))


def plain_rows_resolve(*, latest: dt.datetime, emails: bool) -> list[int]:
    """Resolve the plainly good staged rows into `outcome_record_staging`; return the row
    numbers of the others, for `RowValidator`."""
    quote = connection.ops.quote_name
    metric = quote(Metric._meta.db_table)
    team = quote(Team._meta.db_table)
    employee = quote(Employee._meta.db_table)
    user = quote(User._meta.db_table)
    tz = settings.TIME_ZONE
    by_email = ""
    if emails:
        # The first person (by id) with the address, as RowValidator picks.
        by_email = (
            "LEFT JOIN (SELECT DISTINCT ON (lower(u.email)) lower(u.email) AS email, e.id, "  # noqa: S608
            f"e.team_id FROM {employee} e JOIN {user} u ON u.id = e.user_id "
            "ORDER BY lower(u.email), e.id) ae "
            f"ON strpos(r.agent, '@') > 0 AND r.agent ~ '{_PRINTABLE_ASCII}' "
            "AND ae.email = lower(r.agent)"
        )
    agent_id = "coalesce(a.id, ae.id)" if emails else "a.id"
    agent_team = "coalesce(a.team_id, ae.team_id)" if emails else "a.team_id"
    # Around a daylight-saving change a local time is missing or twice there; PostgreSQL and
    # Python pick different offsets then, so such rows go to Python.
    steady = "TRUE"
    if tz not in ("UTC", "Etc/UTC"):
        offset = "(({x}) AT TIME ZONE %(tz)s) - (({x}) AT TIME ZONE 'UTC')"
        steady = (
            "(NOT naive OR "
            + offset.format(x="occurred_at - interval '3 hours'")
            + " = "
            + offset.format(x="occurred_at + interval '3 hours'")
            + ")"
        )
    lengths = " AND ".join(
        f"char_length(r.{column}) <= {limit}" for column, limit in MAX_LENGTH.items()
    )
    staged = ", ".join(STAGED_COLUMNS)
    # Of a time that has the form of _ISO: whether it ends in Z or +hh:mm (cheaper than a regex).
    zoned = (
        "right(r.occurred_at, 1) = 'Z' OR (char_length(r.occurred_at) > 10 "
        "AND substr(r.occurred_at, char_length(r.occurred_at) - 5, 1) IN ('+', '-'))"
    )
    sql = f"""
        INSERT INTO {STAGING} ({staged})
        SELECT {staged} FROM (
            SELECT r.row_no, r.source, r.external_id, r.customer_ref, r.interaction_ref,
                m.id AS metric_id, m.kind, m.min_value, m.max_value,
                CASE WHEN m.kind = 'binary' THEN
                    CASE WHEN lower(r.value) IN ({_words(YES)}) THEN 1.0::float8
                         WHEN lower(r.value) IN ({_words(NO)}) THEN 0.0::float8
                         WHEN r.value ~ '{_NUMBER}' THEN
                            CASE WHEN r.value::float8 IN (0, 1) THEN r.value::float8 END
                    END
                WHEN r.value ~ '{_NUMBER}' THEN r.value::float8
                END AS value,
                CASE WHEN r.occurred_at ~ '{_ISO}' THEN
                    CASE WHEN substr(r.occurred_at, 9, 2) <= '28'
                              OR to_char((substr(r.occurred_at, 1, 7) || '-01')::date
                                         + (substr(r.occurred_at, 9, 2)::int - 1), 'YYYY-MM-DD')
                                 = substr(r.occurred_at, 1, 10) THEN
                        CASE WHEN {zoned} THEN r.occurred_at::timestamptz
                             ELSE r.occurred_at::timestamp AT TIME ZONE %(tz)s
                        END
                    END
                END AS occurred_at,
                NOT ({zoned}) AS naive,
                CASE WHEN r.team_external_id <> '' THEN t.id ELSE {agent_team} END AS team_id,
                r.agent = '' OR {agent_id} IS NOT NULL AS agent_found,
                {agent_id} AS agent_id,
                octet_length(r.metric) = char_length(r.metric) AND r.external_id <> ''
                    AND {lengths} AS plain_text
            FROM {RAW} r
            JOIN {metric} m ON m.code = lower(r.metric) AND m.is_active
            LEFT JOIN {team} t ON r.team_external_id <> '' AND t.external_id = r.team_external_id
            LEFT JOIN {employee} a
                ON r.agent <> '' AND strpos(r.agent, '@') = 0 AND a.external_id = r.agent
            {by_email}
            -- Every condition is tested outside, on columns computed once per row: the planner
            -- then sees the whole batch coming in and hashes teams and people once.
            OFFSET 0
        ) plain
        WHERE plain_text AND value IS NOT NULL AND value >= min_value AND value <= max_value
            AND (kind <> 'scale' OR value = trunc(value))
            AND occurred_at IS NOT NULL AND occurred_at <= %(latest)s AND {steady}
            AND team_id IS NOT NULL AND agent_found
    """  # noqa: S608 - our own names and constants; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, {"tz": tz, "latest": latest})
        cursor.execute(
            f"SELECT row_no FROM {RAW} r WHERE NOT EXISTS "  # noqa: S608
            f"(SELECT 1 FROM {STAGING} s WHERE s.row_no = r.row_no) ORDER BY row_no"
        )
        return [row_no for (row_no,) in cursor.fetchall()]
