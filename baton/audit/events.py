"""The audit event catalogue. Numbers are stored and hashed: never renumber, only add.

Ranges: 1xx organisation, 2xx access, 3xx audit itself. Later domains take 4xx and up.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.IntegerChoices):
    GROUP_UPDATED = 101, _("Group settings changed")
    BUSINESS_UNIT_CREATED = 110, _("Business unit created")
    BUSINESS_UNIT_UPDATED = 111, _("Business unit changed")
    LEGAL_ENTITY_CREATED = 120, _("Legal entity created")
    LEGAL_ENTITY_UPDATED = 121, _("Legal entity changed")
    DEPARTMENT_CREATED = 130, _("Department created")
    DEPARTMENT_UPDATED = 131, _("Department changed")
    DEPARTMENT_MOVED = 132, _("Department moved")
    CITY_CREATED = 140, _("City created")
    CITY_UPDATED = 141, _("City changed")
    POSITION_FAMILY_CREATED = 150, _("Position family created")
    POSITION_FAMILY_UPDATED = 151, _("Position family changed")
    POSITION_CREATED = 160, _("Position created")
    POSITION_UPDATED = 161, _("Position changed")
    EMPLOYEE_CREATED = 170, _("Employee created")
    EMPLOYEE_UPDATED = 171, _("Employee changed")
    CONTRACT_CREATED = 180, _("Contract created")
    CONTRACT_UPDATED = 181, _("Contract changed")
    AGREEMENT_CREATED = 190, _("Agreement created")
    AGREEMENT_UPDATED = 191, _("Agreement changed")
    AGREEMENT_DOCUMENT_VIEWED = 192, _("Agreement document viewed")
    LIFECYCLE_EVENT_RECORDED = 195, _("Lifecycle event recorded")
    LIFECYCLE_EVENT_UPDATED = 196, _("Lifecycle event changed")
    ORG_BULK_LOADED = 199, _("Organisation data loaded in bulk")

    USER_CREATED = 201, _("User created")
    USER_UPDATED = 202, _("User changed")
    USER_DEACTIVATED = 203, _("User deactivated")
    PASSWORD_CHANGED = 204, _("Password changed")
    ROLE_GRANTED = 210, _("Role granted")
    ROLE_REVOKED = 211, _("Role revoked")
    TOKEN_CREATED = 220, _("API token created")
    TOKEN_REVOKED = 221, _("API token revoked")
    LOGIN_SUCCEEDED = 230, _("Signed in")
    LOGIN_FAILED = 231, _("Sign-in failed")
    LOGIN_THROTTLED = 232, _("Sign-in refused: too many failures")
    LOGGED_OUT = 233, _("Signed out")
    PREFERENCES_CHANGED = 240, _("Preferences changed")

    AUDIT_EXPORTED = 301, _("Audit trail exported")
    AUDIT_SCRUBBED = 302, _("Personal data scrubbed from audit entries")
