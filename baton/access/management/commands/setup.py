"""`baton setup <username>`: the first group administrator of a new installation (the password
comes from BATON_SETUP_PASSWORD or is asked for). Then `baton import archive …` brings the data."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from baton.access.models import Role, RoleAssignment, User


class Command(BaseCommand):
    help = "Create the first group administrator of a new installation."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **opts: Any) -> None:
        if RoleAssignment.objects.filter(role=Role.GROUP_ADMIN).exists():
            raise CommandError(
                "This installation has a group administrator already; they add users."
            )
        password = os.environ.get("BATON_SETUP_PASSWORD") or getpass.getpass("Password: ")
        if len(password) < 12:
            raise CommandError("Use a password of at least 12 characters.")
        with transaction.atomic():
            user = User(username=opts["username"], email=opts["email"])
            user.set_password(password)
            user.save()
            RoleAssignment.objects.create(user=user, role=Role.GROUP_ADMIN)
        self.stdout.write(f"Group administrator {user.username} created.")
