"""Email over SMTP: HTML and text alternatives, the delivery's idempotency key as Message-ID
(so a message re-sent after a crash can be recognised by the receiving side)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any, ClassVar

from django.conf import settings as django_settings
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from baton.core import outbound
from baton.notify.channels.base import (
    ConfigError,
    Message,
    Recipient,
    SendResult,
    internal_allowed,
    refused,
    trim,
)

SECURITY = ("none", "starttls", "ssl")


class EmailAdapter:
    kind: ClassVar[str] = "email"
    label = gettext_lazy("Email (SMTP)")
    setting_fields: ClassVar[tuple[str, ...]] = ("host", "port", "from_email")
    secret_fields: ClassVar[tuple[str, ...]] = ()
    optional_fields: ClassVar[tuple[str, ...]] = ("username", "security")
    optional_secrets: ClassVar[tuple[str, ...]] = ("password",)

    def destinations(self, settings: dict[str, Any]) -> list[tuple[str, str]]:
        host = str(settings.get("host", "")).strip()
        return [
            (
                "host",
                f"smtp://[{host}]:{settings.get('port', '')}"
                if ":" in host
                else f"smtp://{host}:{settings.get('port', '')}",
            )
        ]

    def check_config(self, settings: dict[str, Any], secrets: dict[str, str]) -> None:
        if not str(settings.get("host", "")).strip():
            raise ConfigError(_("“%(field)s” is required.") % {"field": "host"}, "host")
        try:
            port = int(settings.get("port", 0))
        except (TypeError, ValueError):
            port = 0
        if not 0 < port < 65536:
            raise ConfigError(_("The SMTP port must be a number from 1 to 65535."), "port")
        if settings.get("security", "none") not in SECURITY:
            raise ConfigError(
                _("Security must be one of: %(choices)s.") % {"choices": ", ".join(SECURITY)},
                "security",
            )
        sender = str(settings.get("from_email", "")).strip()
        address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
        try:
            validate_email(address)
        except Exception:
            raise ConfigError(
                _("“%(value)s” is not an email address.") % {"value": sender or "—"},
                "from_email",
            ) from None
        if secrets.get("password") and not settings.get("username"):
            raise ConfigError(_("A password needs a user name."), "username")

    def _build(
        self, settings: dict[str, Any], recipient: Recipient, message: Message
    ) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = settings.get("from_email") or django_settings.BATON_MAIL_FROM
        mail["To"] = formataddr((recipient.name, recipient.email))
        mail["Date"] = formatdate(localtime=True)
        mail["Message-ID"] = f"<{message.idempotency_key}@baton>"
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        for name, content, mimetype in message.attachments:
            maintype, _sep, subtype = mimetype.partition("/")
            mail.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
        return mail

    def send(
        self,
        settings: dict[str, Any],
        secrets: dict[str, str],
        recipient: Recipient,
        message: Message,
    ) -> SendResult:
        if not recipient.email:
            return SendResult(
                ok=False,
                retryable=False,
                error=_("%(name)s has no email address.") % {"name": recipient.name},
            )
        mail = self._build(settings, recipient, message)
        security = settings.get("security", "none")
        host, port = settings["host"], int(settings["port"])
        try:
            # Through the outbound guard: the SMTP host is resolved once, checked, and the
            # connection made to the checked address (an SMTP host is no port scanner).
            smtp_class = outbound.SMTP_SSL if security == "ssl" else outbound.SMTP
            with smtp_class(host, port, timeout=15, internal=internal_allowed()) as smtp:
                if security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if settings.get("username"):
                    smtp.login(settings["username"], secrets.get("password", ""))
                smtp.send_message(mail)
        except outbound.Refused as exc:
            return refused(exc)
        except smtplib.SMTPAuthenticationError as exc:
            return SendResult(
                ok=False,
                retryable=False,
                error=_("The SMTP server refused the user name or password."),
                response=trim(f"{exc.smtp_code} {exc.smtp_error!r}"),
            )
        except smtplib.SMTPRecipientsRefused as exc:
            return SendResult(
                ok=False,
                retryable=False,
                error=_("The SMTP server refused the recipient %(email)s.")
                % {"email": recipient.email},
                response=trim(repr(exc.recipients)),
            )
        except smtplib.SMTPSenderRefused as exc:
            return SendResult(
                ok=False,
                retryable=False,
                error=_("The SMTP server refused the sender address %(email)s.")
                % {"email": exc.sender},
                response=trim(f"{exc.smtp_code} {exc.smtp_error!r}"),
            )
        except smtplib.SMTPResponseException as exc:
            return SendResult(
                ok=False,
                retryable=exc.smtp_code < 500,
                error=_("The SMTP server answered %(code)s.") % {"code": exc.smtp_code},
                response=trim(repr(exc.smtp_error)),
            )
        except (TimeoutError, OSError, smtplib.SMTPException, ssl.SSLError) as exc:
            return SendResult(
                ok=False,
                retryable=True,
                error=_("Cannot reach the SMTP server %(host)s:%(port)s (%(detail)s).")
                % {"host": settings["host"], "port": settings["port"], "detail": exc},
            )
        return SendResult(
            ok=True,
            provider_message_id=f"<{message.idempotency_key}@baton>",
            response=_("Accepted by %(host)s") % {"host": settings["host"]},
        )
