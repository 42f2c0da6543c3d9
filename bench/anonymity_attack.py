"""The outside test's join attack on a database: how many responses of the latest closed run a
join of stored columns pins to one person.

It joins every answered invitation (team, the invitee's location, role family and tenure band,
the answer date) with every response of the run on the columns a response stores, treating a
blank stored value as "any", and counts the responses that match exactly one person; then the
same on PostgreSQL's `xmin`. Before answers were stored at close, coarsened (surveys migration
0005), the demo's latest run gave 160 of 213 responses pinned to one person.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxc_demo \
        .venv/bin/python bench/anonymity_attack.py
"""

import collections
import datetime as dt
import os
import sys

import psycopg


def band(hire: dt.date | None, on: dt.date) -> str:
    if hire is None or hire > on:
        return ""
    years = (on - hire).days / 365.25
    return "lt1" if years < 1 else "1to2" if years < 2 else "2to5" if years < 5 else "5plus"


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        print("Set DATABASE_URL to a PostgreSQL database holding survey runs.", file=sys.stderr)
        return 2
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:
        cur = conn.cursor()
        cur.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'surveys_response'"
        )
        dated = "submitted_on" in {row[0] for row in cur.fetchall()}
        cur.execute(
            "SELECT id, opens_on FROM surveys_surveyrun WHERE status = 'closed' "
            "ORDER BY closes_on DESC, id DESC LIMIT 1"
        )
        found = cur.fetchone()
        if found is None:
            print("No closed run.")
            return 0
        run_id, opens_on = found
        cur.execute(
            "SELECT i.team_path, i.responded_on, e.location, e.role_family, e.hire_date, "
            "i.xmin::text FROM surveys_invitation i "
            "JOIN people_employee e ON e.id = i.employee_id "
            "WHERE i.run_id = %s AND i.responded_on IS NOT NULL",
            [run_id],
        )
        people = cur.fetchall()
        date_column = "submitted_on" if dated else "NULL"
        cur.execute(
            f"SELECT team_path, tenure_band, location, role_family, {date_column}, "  # noqa: S608
            "xmin::text FROM surveys_response WHERE run_id = %s",
            [run_id],
        )
        responses = cur.fetchall()
    pinned = pinned_by_xmin = 0
    for path, tenure, location, role, day, xmin in responses:
        matches = [
            person
            for person in people
            if person[0].startswith(path)
            and (not location or person[2] == location)
            and (not role or person[3] == role)
            and (not tenure or tenure in {band(person[4], person[1]), band(person[4], opens_on)})
            and (day is None or person[1] == day)
        ]
        pinned += len(matches) == 1
        pinned_by_xmin += sum(1 for person in people if person[5] == xmin) == 1
    sizes = collections.Counter(row[:4] for row in responses)
    print(
        f"run {run_id}: {len(responses)} responses; pinned to one person by stored columns: "
        f"{pinned}; by xmin: {pinned_by_xmin}; smallest stored combination: "
        f"{min(sizes.values(), default=0)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
