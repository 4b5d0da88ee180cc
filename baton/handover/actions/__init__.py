"""Every change in the handover domain: templates, cases, tasks, evidence, documents,
external confirmations and the knowledge map. One transaction each, audited, locking what it
read-modifies. Split by sub-resource; import from here."""

from baton.handover.actions.cases import *  # noqa: F403
from baton.handover.actions.documents import *  # noqa: F403
from baton.handover.actions.knowledge import *  # noqa: F403
from baton.handover.actions.tasks import *  # noqa: F403
from baton.handover.actions.templates import *  # noqa: F403
