"""E-mail helpers: absolute links for notifications and a console backend people can read."""

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend


def absolute_url(path: str) -> str:
    """The link to `path` for an e-mail: always from CXC_BASE_URL, never a request's Host header
    (which an attacker can choose), because e-mails are sent by tasks that have no request."""
    return settings.CXC_BASE_URL.rstrip("/") + path


class ConsoleEmailBackend(DjangoConsoleBackend):
    """Prints each e-mail's headers and its decoded text body, as the reader would see it.

    Django's console backend prints the MIME source, in which a long line or a non-ASCII
    character is quoted-printable encoded: links break across lines with `=` and `=3D` and cannot
    be clicked or copied. Used by the dev settings (`make demo`)."""

    def write_message(self, message: EmailMessage) -> None:
        lines = [
            f"Subject: {message.subject}",
            f"From: {message.from_email}",
            f"To: {', '.join(message.to)}",
        ]
        if message.cc:
            lines.append(f"Cc: {', '.join(message.cc)}")
        if isinstance(message, EmailMultiAlternatives) and message.alternatives:
            kinds = ", ".join(alternative[1] for alternative in message.alternatives)
            lines.append(f"(Also sent as {kinds}.)")
        self.stream.write("\n".join(lines) + "\n\n" + str(message.body).rstrip("\n") + "\n")
        self.stream.write("-" * 79 + "\n")
