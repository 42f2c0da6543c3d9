"""Store the results summary (`RunSummary`) of closed runs that have none.

Runs closed since summaries exist got theirs in the transaction that closed them; this writes
the summaries of runs closed before (run it once after migrating), and with `--rebuild` writes
every closed run's summary again from its stored responses (after restoring responses from a
backup). Each run is written in its own transaction, so an interrupted run of the command
leaves every summary whole and can simply be started again.
"""

from django.core.management.base import BaseCommand

from surveys import services
from surveys.models import RunSummary, SurveyRun
from surveys.results.summary import SUMMARY_VERSION


class Command(BaseCommand):
    help = "Store the results summary of closed survey runs that have none (or all: --rebuild)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="Write every closed run's summary again, not only the missing ones.",
        )

    def handle(self, *args, rebuild: bool = False, **options):
        runs = SurveyRun.objects.filter(status=SurveyRun.Status.CLOSED).order_by("id")
        if not rebuild:
            current = RunSummary.objects.filter(figures__version=SUMMARY_VERSION)
            runs = runs.exclude(pk__in=current.values("run_id"))
        written = 0
        for run in runs:
            services.run_summary_rebuild(run=run)
            written += 1
        self.stdout.write(f"Stored the results summary of {written} closed run(s).")
