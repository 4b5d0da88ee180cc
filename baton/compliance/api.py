"""/api/compliance: rule packs, settlements, certificates, deadlines, exit interviews. Each part
has its own router module, added here."""

from ninja import Router

router = Router(tags=["compliance"])

from baton.compliance.api_interviews import router as interviews_router  # noqa: E402

router.add_router("", interviews_router)
from baton.compliance.api_settlement import router as settlement_router  # noqa: E402

router.add_router("", settlement_router)
from baton.compliance.api_rules import router as rules_router  # noqa: E402

router.add_router("", rules_router)
from baton.compliance.api_certificates import router as certificates_router  # noqa: E402

router.add_router("", certificates_router)
