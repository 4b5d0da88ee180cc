"""Lawful exits (compliance): rule packs by jurisdiction and effective date, the settlement
statement, the separation certificate and its register, statutory deadlines, exit interviews.

Each part keeps its models in its own module here; every write goes through the app's actions.
"""

from baton.compliance.models.certificates import *  # noqa: F403
from baton.compliance.models.deadlines import *  # noqa: F403
from baton.compliance.models.interviews import *  # noqa: F403
from baton.compliance.models.rules import *  # noqa: F403
from baton.compliance.models.settlement import *  # noqa: F403
