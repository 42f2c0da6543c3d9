"""Notifications about recognition: emails to the people concerned and the Slack-compatible
webhook for organisation-visible recognitions. Called by tasks; each claims its work with a
conditional update so a redelivered task sends nothing twice.

A give publishes no message: the recognition row is its own outbox (`notified_at` still empty)
and the beat's sweep (`recognitions_notify_pending`, every CXC_RECOGNITION_NOTIFY_SECONDS)
notifies what is pending. Without a broker there is no beat, so the give notifies at commit
(`recognition_given_notify`, the sweep's step for one recognition)."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from cxculture.lib.emails import absolute_url
from cxculture.lib.webhooks import WebhookError, post_json, slack_escape

from .models import PolicyException, Recognition, RecognitionReceiver, Redemption

logger = logging.getLogger(__name__)


def _email(template: str, context: dict, to: list[str]) -> EmailMessage:
    subject = render_to_string(f"emails/recognition/{template}_subject.txt", context)
    body = render_to_string(f"emails/recognition/{template}.txt", context)
    return EmailMessage(" ".join(subject.split()), body, to=to)


def _recognition(recognition_id: int) -> Recognition:
    receivers = Prefetch(
        "receiver_links", queryset=RecognitionReceiver.objects.select_related("employee__user")
    )
    return (
        Recognition.objects.select_related("giver__user")
        .prefetch_related(receivers, "values")
        .get(pk=recognition_id)
    )


def recognition_email_receivers(*, recognition_id: int) -> int:
    """Email each receiver (once); return how many emails were sent."""
    claimed = (
        Recognition.objects.active()
        .filter(pk=recognition_id, notified_at__isnull=True)
        .update(notified_at=timezone.now())
    )
    if not claimed:
        return 0
    recognition = _recognition(recognition_id)
    values = [value.name for value in recognition.values.all()]
    messages = [
        _email(
            "received",
            {
                "recognition": recognition,
                "receiver": link.employee,
                "values": values,
                "link": absolute_url(reverse("recognition:detail", args=[recognition.pk])),
            },
            [link.employee.email],
        )
        for link in recognition.receiver_links.all()
        if link.employee.email
    ]
    if messages:
        mailers.default.send_messages(messages)
    return len(messages)


def recognition_given_notify(*, recognition_id: int) -> None:
    """What follows a give: the receivers' emails, then the webhook announcement. Each step
    claims its work, so running this twice, or in two overlapping sweeps, sends nothing twice."""
    try:
        recognition_email_receivers(recognition_id=recognition_id)
    finally:
        recognition_post_to_webhook(recognition_id=recognition_id)


def recognitions_notify_pending(*, batch: int = 500) -> int:
    """Notify the `batch` oldest recognitions not yet notified (reversed ones never are);
    return how many were taken. A larger backlog is left to the next sweeps."""
    pending = list(
        Recognition.objects.filter(notified_at__isnull=True, reversed_at__isnull=True)
        .order_by("id")
        .values_list("pk", flat=True)[:batch]
    )
    # An error (say the mail server is down) ends this sweep: the recognition that failed keeps
    # its claim, as with a failed task, and the rest wait for the next sweep instead of each
    # losing its claim to the same outage.
    for recognition_id in pending:
        recognition_given_notify(recognition_id=recognition_id)
    return len(pending)


def recognition_text(recognition: Recognition) -> str:
    """The one-line announcement of a recognition, escaped for Slack."""
    names = ", ".join(link.employee.display_name for link in recognition.receiver_links.all())
    values = ", ".join(value.name for value in recognition.values.all())
    text = f"*{slack_escape(recognition.giver.display_name)}* recognised *{slack_escape(names)}*"
    if values:
        text += f" for _{slack_escape(values)}_"
    text += f": {slack_escape(recognition.message)}"
    if recognition.points_per_receiver:
        text += f" (+{recognition.points_per_receiver} points)"
    return text


def recognition_post_to_webhook(*, recognition_id: int) -> bool:
    """Post an organisation-visible recognition to the configured webhook (once, if set)."""
    url = settings.CXC_SLACK_WEBHOOK_URL
    if not url:
        return False
    claimed = (
        Recognition.objects.active()
        .filter(
            pk=recognition_id,
            announced_at__isnull=True,
            visibility=Recognition.Visibility.ORGANISATION,
        )
        .update(announced_at=timezone.now())
    )
    if not claimed:
        return False
    recognition = _recognition(recognition_id)
    try:
        post_json(
            url,
            {"text": recognition_text(recognition)},
            timeout=settings.CXC_WEBHOOK_TIMEOUT_SECONDS,
            attempts=settings.CXC_WEBHOOK_ATTEMPTS,
        )
    except WebhookError as exc:
        # Give the claim back so a later run (or an admin retry) can try again.
        Recognition.objects.filter(pk=recognition_id).update(announced_at=None)
        logger.warning("Recognition %s not announced: %s", recognition_id, exc)
        return False
    return True


def redemption_email_update(*, redemption_id: int) -> int:
    redemption = Redemption.objects.select_related("employee__user", "reward").get(pk=redemption_id)
    if not redemption.employee.email:
        return 0
    context = {
        "redemption": redemption,
        "Status": Redemption.Status,
        "link": absolute_url(reverse("recognition:rewards")),
    }
    return mailers.default.send_messages(
        [_email("redemption_update", context, [redemption.employee.email])]
    )


def exception_email_review(*, exception_id: int) -> int:
    exception = PolicyException.objects.select_related(
        "employee__user", "reviewer__user", "policy"
    ).get(pk=exception_id)
    if not exception.employee.email:
        return 0
    context = {
        "exception": exception,
        "Status": PolicyException.Status,
        "link": absolute_url(reverse("recognition:exceptions")),
    }
    return mailers.default.send_messages(
        [_email("exception_reviewed", context, [exception.employee.email])]
    )
