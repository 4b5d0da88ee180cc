"""/api/org: organisation structure and people, the group, and duplicate records."""

from ninja import Router

from baton.org.api.duplicates import router as duplicates_router
from baton.org.api.group import router as group_router
from baton.org.api.people import router as people_router
from baton.org.api.structure import router as structure_router

router = Router()
# In this order: the order of the OpenAPI schema's paths.
router.add_router("", structure_router)
router.add_router("", people_router)
router.add_router("", group_router)
router.add_router("", duplicates_router)

__all__ = ["router"]
