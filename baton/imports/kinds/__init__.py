"""Every kind of record an import can bring in, in the order an archive imports them (each
kind's references point only to kinds before it)."""

from __future__ import annotations

from baton.imports.kinds.base import Kind
from baton.imports.kinds.org import ORG_KINDS
from baton.imports.kinds.people import Employees
from baton.imports.kinds.records import RECORD_KINDS

ORDER: list[type[Kind]] = [
    *[k for k in ORG_KINDS if k.code != "department_heads"],
    Employees,
    *[k for k in ORG_KINDS if k.code == "department_heads"],
    *RECORD_KINDS,
]
KINDS: dict[str, type[Kind]] = {k.code: k for k in ORDER}
# Kinds an export writes (separations export as lifecycle events).
EXPORTED = [k for k in ORDER if k.code != "separations"]
