"""`baton i18n compile|check`: compile .po to .mo without GNU gettext (polib), or check that
every message is translated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def catalogues() -> list[Path]:
    return sorted(Path(settings.BASE_DIR).glob("locale/*/LC_MESSAGES/*.po"))


class Command(BaseCommand):
    help = "Compile or check the translation catalogues."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("cmd", choices=["compile", "check"])

    def handle(self, *args: Any, **opts: Any) -> None:
        problems: list[str] = []
        for po_path in catalogues():
            po = polib.pofile(str(po_path))
            if opts["cmd"] == "compile":
                po.save_as_mofile(str(po_path.with_suffix(".mo")))
                continue
            if po_path.parts[-3] == "en":
                continue  # the source strings are English
            for entry in po:
                if entry.obsolete:
                    continue
                if "fuzzy" in entry.flags:
                    problems.append(f"{po_path}: fuzzy: {entry.msgid!r}")
                elif entry.msgid_plural:
                    if not all(entry.msgstr_plural.values()):
                        problems.append(f"{po_path}: untranslated: {entry.msgid!r}")
                elif not entry.msgstr:
                    problems.append(f"{po_path}: untranslated: {entry.msgid!r}")
        if problems:
            raise CommandError("\n".join(problems))
