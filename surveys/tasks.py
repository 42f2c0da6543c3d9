"""Celery adapters for pulse surveys: take ids, call a service. Every one is safe to run twice.

Messages carry run and invitation ids only — never an answer (DESIGN.md, "Survey anonymity").
"""

from celery import shared_task
from celery.signals import worker_init

from . import services


@worker_init.connect
def _mailings_ready_before_forking(**_: object) -> None:
    """Load what every mailing chunk needs (the URLconf its links are reversed from, the e-mail
    templates) once in the worker's main process, before it forks its pool: each forked process
    inherits them instead of loading them on its first chunk (one to two seconds each on a busy
    2-core machine, a real share of a 20,000-person fan-out). Nothing here opens a connection."""
    services.survey_mailings_warm_up()


@shared_task(acks_late=True)
def survey_runs_open_due_task() -> None:
    """Plan each active program's next run, then open the runs due today (with invitations)."""
    services.survey_runs_schedule_due()
    services.survey_runs_open_due()


@shared_task(acks_late=True)
def survey_runs_close_ended_task() -> None:
    services.survey_runs_close_ended()


@shared_task(acks_late=True)
def survey_reminders_send_task() -> None:
    services.survey_reminders_fan_out()


@shared_task(acks_late=True)
def survey_mailing_fan_out_task(run_id: int, mailing: str) -> None:
    services.survey_mailing_fan_out(run_id=run_id, mailing=mailing)


# A failed send (the mail server down) is retried with backoff and then dead-lettered with its
# error by the base task (cxculture/jobs/base.py); Celery's autoretry would hide that error.
@shared_task(acks_late=True)
def survey_mailing_send_task(run_id: int, mailing: str, invitation_ids: list[int]) -> None:
    services.survey_mailing_send(run_id=run_id, mailing=mailing, invitation_ids=invitation_ids)
