"""Run the beat schedule's work once, now, in this process.

The demo has no broker and no beat, so nothing would ever close a run, send a reminder or ask a
manager to commit an action. `make demo` runs this after seeding. Every scheduled task is
idempotent (it claims its work in the database), so running it at any time, or twice, only
does what is due and never sends an e-mail twice.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cxculture.celery import app


class Command(BaseCommand):
    help = "Run each CELERY_BEAT_SCHEDULE entry's task once, eagerly (the demo has no beat)."

    def add_arguments(self, parser):
        parser.add_argument(
            "entries", nargs="*", help="Only these schedule entries (default: all of them)."
        )

    def handle(self, *args, entries: list[str], **options):
        schedule = settings.CELERY_BEAT_SCHEDULE
        unknown = [name for name in entries if name not in schedule]
        if unknown:
            raise CommandError(
                f"Unknown schedule entries: {', '.join(unknown)}. Known: {', '.join(schedule)}."
            )
        app.loader.import_default_modules()
        failed = 0
        for name, entry in schedule.items():
            if entries and name not in entries:
                continue
            task = app.tasks[entry["task"]]
            # apply() runs the task here and now, whatever the broker settings say.
            result = task.apply(
                args=entry.get("args", ()), kwargs=entry.get("kwargs", {}), throw=False
            )
            if result.failed():
                failed += 1
                self.stderr.write(f"{name}: failed: {result.result!r}")
            else:
                done = "" if result.result is None else f" ({result.result})"
                self.stdout.write(f"{name}: done{done}")
        if failed:
            raise CommandError(f"{failed} scheduled task(s) failed; see above.")
