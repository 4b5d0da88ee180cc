#!/usr/bin/env bash
# Prints the path of a Python >= 3.12 interpreter, or explains what is missing.
# Looks at $PYTHON, then python3.14..python3.12 and python3 on PATH, then pyenv's versions.
set -u
ok() { "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }
candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
for v in 3.14 3.13 3.12; do
  p=$(command -v "python$v" 2>/dev/null) && candidates+=("$p")
done
p=$(command -v python3 2>/dev/null) && candidates+=("$p")
for root in "${PYENV_ROOT:-$HOME/.pyenv}" /root/.pyenv /usr/local /opt/python; do
  for d in "$root"/versions/3.1[2-9]*/bin/python3 "$root"/bin/python3.1[2-9]; do
    [ -x "$d" ] && candidates+=("$d")
  done
done
for c in "${candidates[@]}"; do
  if ok "$c"; then
    # pyenv shims may point at a version that is not selected; resolve the real binary.
    "$c" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
{
  echo "Baton needs Python 3.12 or newer (Django 6.1 does not install on 3.11)."
  echo "Looked at: \$PYTHON, python3.14/3.13/3.12/python3 on PATH, and pyenv's versions."
  echo "Install one (Debian/Ubuntu: apt-get install python3.12 python3.12-venv;"
  echo "pyenv: pyenv install 3.12) or point PYTHON=/path/to/python3.12 at it."
} >&2
exit 1
