"""Celery adapters for actions: the beat jobs that prompt managers and remind owners."""

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def action_prompts_send_task() -> int:
    # Safe to run twice: each prompt is claimed by a unique (run, manager) row.
    return services.action_prompts_send()


@shared_task(acks_late=True)
def actions_remind_overdue_task() -> int:
    # Safe to run twice: each reminder is claimed by a conditional update of `reminded_on`.
    return services.actions_remind_overdue()
