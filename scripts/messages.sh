#!/usr/bin/env bash
# Refresh the translation catalogues from the sources (needs GNU gettext). Runs makemessages
# in a copy of baton/ so no temporary files land in the tree and locations stay "baton/…";
# then lists what is left to translate (`baton i18n check`).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r baton "$work/"
(cd "$work" && DJANGO_SETTINGS_MODULE=baton.settings PYTHONPATH="$work" \
  "$OLDPWD/$VENV/bin/python" -m django makemessages -l zh_Hans -l en -e html,txt,py)
for lang in zh_Hans en; do
  cp "$work/baton/locale/$lang/LC_MESSAGES/django.po" "baton/locale/$lang/LC_MESSAGES/django.po"
done
"$VENV/bin/baton" i18n check && "$VENV/bin/baton" i18n compile
