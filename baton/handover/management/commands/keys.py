"""`baton keys rotate`: re-encrypt every handover document under the current key.
`baton keys new`: print a fresh AES-256 key for BATON_FILE_KEYS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from baton.handover import crypto
from baton.handover.actions import reencrypt_all


class Command(BaseCommand):
    help = "Document encryption keys: `new` prints a key, `rotate` re-encrypts to the current one."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("cmd", choices=["new", "rotate"])

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["cmd"] == "new":
            self.stdout.write(crypto.new_key())
            return
        done = reencrypt_all()
        from baton.notify.actions import reencrypt_channel_secrets

        channels = reencrypt_channel_secrets()
        from baton.audit.events import AuditEvent as E
        from baton.compliance.actions_certificates import reencrypt_certificates
        from baton.core.sealed import reseal_all
        from baton.integrations.models import ConnectedSystem, Subscription

        subscriptions = reseal_all(Subscription, E.SUBSCRIPTION_UPDATED)
        systems = reseal_all(ConnectedSystem, E.SYSTEM_SECRETS_CHANGED)
        certificates = reencrypt_certificates()
        from baton.org import idcard

        id_numbers = idcard.reseal_all()
        self.stdout.write(
            f"Re-encrypted {done} documents, {channels} channel secrets, {subscriptions} webhook "
            f"and {systems} connected-system secrets, {certificates} certificates and "
            f"{id_numbers} ID card numbers with key {crypto.current_key_id()!r}."
        )
