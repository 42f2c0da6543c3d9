"""Programmes that ask the whole organisation become its organisation-wide programmes, so the
organisation's pages keep following the runs they followed before the flag existed."""

from django.db import migrations


def mark(apps, schema_editor):
    SurveyProgram = apps.get_model("surveys", "SurveyProgram")
    SurveyProgram.objects.filter(audience="organisation").update(is_organisation_wide=True)


def unmark(apps, schema_editor):
    SurveyProgram = apps.get_model("surveys", "SurveyProgram")
    SurveyProgram.objects.update(is_organisation_wide=False)


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0007_program_is_organisation_wide"),
    ]

    operations = [migrations.RunPython(mark, unmark)]
