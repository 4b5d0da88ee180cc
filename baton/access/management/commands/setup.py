"""`baton setup <username>`: the first group administrator of a new installation (the password
comes from BATON_SETUP_PASSWORD or is asked for). Then `baton import archive …` brings the data.

Nobody can sign in yet to grant this first role, so the system does it, once: the account and
the role are audited with the system as the actor, like any user or role created later."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from baton.access.models import Role, RoleAssignment, User
from baton.audit import trail
from baton.audit.events import AuditEvent as E
from baton.core import actions as base
from baton.core.errors import ActionError

PASSWORD_ENV = "BATON_SETUP_PASSWORD"  # noqa: S105 — the variable's name, not a password


def _refuse_if_set_up() -> None:
    if RoleAssignment.objects.filter(role=Role.GROUP_ADMIN).exists():
        raise CommandError(
            _(
                "This installation has a group administrator already; they add users and "
                "roles on the Users and roles page."
            )
        )


class Command(BaseCommand):
    help = "Create the first group administrator of a new installation."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--display-name", default="", help="the name shown (the username)")

    def handle(self, *args: Any, **opts: Any) -> None:
        _refuse_if_set_up()
        username = opts["username"].strip()
        if User.objects.filter(username__iexact=username).exists():
            raise CommandError(
                _("A user “%(username)s” exists already; choose another username.")
                % {"username": username}
            )
        user = User(
            username=username,
            display_name=opts["display_name"].strip() or username,
            email=opts["email"].strip(),
            language=settings.LANGUAGE_CODE,
        )
        password = self._password(user)
        try:
            self._create(user, password)
        except ActionError as e:
            raise CommandError(
                e.message + "".join(f"\n  {k}: {'; '.join(v)}" for k, v in e.field_errors.items())
            ) from None
        self.stdout.write(
            _("Group administrator %(username)s created.") % {"username": user.username}
        )

    def _password(self, user: User) -> str:
        password = os.environ.get(PASSWORD_ENV)
        if not password:
            password = getpass.getpass(_("Password: "))
            if getpass.getpass(_("Password (again): ")) != password:
                raise CommandError(_("The two passwords differ."))
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(
                _("The password is not strong enough:") + "".join(f"\n  {m}" for m in exc.messages)
            ) from None
        return password

    @transaction.atomic
    def _create(self, user: User, password: str) -> None:
        user.set_password(password)
        base.clean(user, exclude=["password"])
        user.save()
        trail.record(
            E.USER_CREATED,
            actor=None,
            subject=user,
            changes={
                k: (None, getattr(user, k))
                for k in ("username", "display_name", "email", "language")
            },
            extra={"setup": True},
        )
        # Granted as the Users page grants a role, audited with the system as the actor.
        base.create(
            RoleAssignment,
            {"user_id": user.pk, "role": Role.GROUP_ADMIN.value},
            acting_user=None,
            event=E.ROLE_GRANTED,
            extra={"setup": True},
        )
