"""Invitations keep the team they were invited in as a path only.

Nothing read the team's id: participation and results group invitations by `team_path`. Its
foreign key cost every run opened one check per invitation at commit (20,000 for an
organisation of 20,000), about a third of the opening's constraint checks. Dropping the column
is a catalogue change on PostgreSQL; the rows are not rewritten.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("surveys", "0016_invitation_employee_and_team_without_own_index")]

    operations = [migrations.RemoveField(model_name="invitation", name="team")]
