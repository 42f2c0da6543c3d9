"""Existing responses as a closed run stores them, and open runs' answers sealed.

Before this, a response was stored at submission with its exact team and attributes and a
date, in the transaction that marked the invitation answered. This migration:

- seals the responses of runs still open (`SealedResponse`), to be stored when they close;
- coarsens each closed run's responses so every stored team and attribute combination holds 0
  or at least k respondents (the same rule `survey_run_close` applies now);
- rewrites every answered invitation, so that on PostgreSQL no invitation shares a
  transaction id with a response or an answer any more;
- on PostgreSQL, reorders the response and answer tables by their random ids, so the physical
  order no longer follows the order of submission.

It uses the two pure helpers the services use (`cxculture.lib.anonymity.coarsen_for_storage`,
`cxculture.lib.sealing.seal`): they import nothing of the product, and the rule they implement
is the one the data must satisfy. Going back restores nothing that was coarsened away.
"""

from collections import Counter

from django.db import migrations
from django.db.models import F

from cxculture.lib import anonymity, sealing

ATTRIBUTES = ("tenure_band", "location", "role_family")


def _ids(path):
    return [int(part) for part in path.strip("/").split("/") if part]


def _stored(responses, k):
    parents, paths, counts, keys = {}, {}, Counter(), []
    for response in responses:
        ids = _ids(response.team_path)
        for index, node in enumerate(ids):
            parents.setdefault(node, ids[index - 1] if index else None)
            paths.setdefault(node, "/" + "/".join(map(str, ids[: index + 1])) + "/")
        key = (ids[-1] if ids else "", tuple(getattr(response, a) or "" for a in ATTRIBUTES))
        counts[key] += 1
        keys.append(key)
    stored = anonymity.coarsen_for_storage(parents=parents, cells=counts, k=k, pool="")
    return [(stored[key], paths) for key in keys]


def forwards(apps, schema_editor):
    SurveyRun = apps.get_model("surveys", "SurveyRun")
    Response = apps.get_model("surveys", "Response")
    Answer = apps.get_model("surveys", "Answer")
    SealedResponse = apps.get_model("surveys", "SealedResponse")
    Invitation = apps.get_model("surveys", "Invitation")
    for run in SurveyRun.objects.all().iterator():
        responses = list(Response.objects.filter(run=run))
        if not responses:
            continue
        if run.status != "closed":
            for response in responses:
                answers = Answer.objects.filter(response=response)
                box = sealing.seal(
                    {
                        "team_path": response.team_path,
                        "values": [getattr(response, a) or "" for a in ATTRIBUTES],
                        "comment": response.comment,
                        "answers": [
                            [a.question_id, a.value, a.choice, a.text] for a in answers
                        ],
                    }
                )
                SealedResponse.objects.create(run=run, box=box)
                answers.delete()
                response.delete()
            continue
        changed = []
        for response, ((node, values), paths) in zip(
            responses, _stored(responses, run.anonymity_threshold), strict=True
        ):
            response.team_id = None if node == "" else node
            response.team_path = "" if node == "" else paths[node]
            for name, value in zip(ATTRIBUTES, values, strict=True):
                setattr(response, name, value)
            changed.append(response)
        Response.objects.bulk_update(
            changed, ["team", "team_path", *ATTRIBUTES], batch_size=2000
        )
    Invitation.objects.filter(responded_on__isnull=False).update(
        responded_on=F("responded_on")
    )
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            # The deleted rows' foreign-key checks wait for the commit; CLUSTER wants none.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for model in (Response, Answer):
                cursor.execute(f"CLUSTER {model._meta.db_table} USING {model._meta.db_table}_pkey")


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0004_sealed_responses"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
