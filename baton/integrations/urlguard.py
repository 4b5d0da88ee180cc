"""Moved: the outbound guard is `baton.core.outbound`, shared by webhooks, connected systems
and notification channels. These names stay for existing imports."""

from __future__ import annotations

from baton.core.outbound import Refused as UnsafeURL
from baton.core.outbound import Unresolvable as UnresolvableHost
from baton.core.outbound import check_url as check

__all__ = ["UnresolvableHost", "UnsafeURL", "check"]
