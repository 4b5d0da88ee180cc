"""Who may sign in and what they may see: users, role assignments with scopes, API tokens."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(username__iexact=username)


class User(AbstractBaseUser):
    """A login. Linked to at most one employee (their own record); roles say what else they see."""

    username = models.CharField(_("username"), max_length=150, unique=True)
    display_name = models.CharField(_("display name"), max_length=150)
    email = models.EmailField(_("email"), blank=True)
    employee = models.OneToOneField(
        "org.Employee",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="user",
        verbose_name=_("employee"),
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        default="zh-hans",
        choices=[("zh-hans", "简体中文"), ("en", "English")],
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["display_name"]

    objects = UserManager()

    class Meta:
        verbose_name = _("user")

    def __str__(self) -> str:
        return self.display_name or self.username


class Role(models.TextChoices):
    GROUP_ADMIN = "group_admin", _("Group HR admin")
    HRBP = "hrbp", _("HRBP")
    DEPT_HEAD = "dept_head", _("Department head")
    EMPLOYEE = "employee", _("Employee")
    RECEIVER = "receiver", _("Receiver")
    IT = "it", _("IT / security")
    FINANCE = "finance", _("Finance")
    AUDITOR = "auditor", _("Legal / auditor")


class RoleAssignment(models.Model):
    """A role held by a user over a scope. No scope columns set means the whole group; otherwise
    the role covers the named business unit, legal entity, or department subtree."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    business_unit = models.ForeignKey(
        "org.BusinessUnit",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("business unit"),
    )
    legal_entity = models.ForeignKey(
        "org.LegalEntity",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("legal entity"),
    )
    department = models.ForeignKey(
        "org.Department",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("department subtree"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("role assignment")
        constraints = [
            # At most one scope column per assignment: several scopes are several assignments.
            models.CheckConstraint(
                condition=(
                    Q(business_unit__isnull=True, legal_entity__isnull=True)
                    | Q(business_unit__isnull=True, department__isnull=True)
                    | Q(legal_entity__isnull=True, department__isnull=True)
                ),
                name="role_single_scope",
            ),
        ]

    def __str__(self) -> str:
        scope = self.business_unit or self.legal_entity or self.department or _("whole group")
        return f"{self.get_role_display()} · {scope}"


class TokenScope(models.TextChoices):
    ORG_READ = "org:read", _("Read organisation and people")
    ORG_WRITE = "org:write", _("Change organisation and people")
    AUDIT_READ = "audit:read", _("Read and export the audit trail")
    HANDOVER_READ = "handover:read", _("Read exit cases, tasks and checklists")
    HANDOVER_WRITE = "handover:write", _("Work exit cases, tasks and checklists")
    NOTIFY_READ = "notify:read", _("Read own notifications and the delivery log")
    NOTIFY_WRITE = "notify:write", _("Manage notification channels and reminder rules")
    INTEGRATIONS = "integrations", _("Manage webhook subscriptions and connected systems")
    BUSINESS_PUSH = "business:push", _("Push a leaver's business records onto exit cases")
    ACCOUNT_WRITE = "account:write", _("Change the owner's own preferences (language, time zone)")


# The scopes that allow a change. A token holding none of them is refused every unsafe request
# before the endpoint runs (listed rather than derived, so a new scope is read-only until added).
WRITE_SCOPES = frozenset(
    {
        TokenScope.ORG_WRITE,
        TokenScope.HANDOVER_WRITE,
        TokenScope.NOTIFY_WRITE,
        TokenScope.INTEGRATIONS,
        TokenScope.BUSINESS_PUSH,
        TokenScope.ACCOUNT_WRITE,
    }
)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for an integration. It acts as its owner, narrowed to its scopes; only a
    hash is stored, the token itself is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    # A connected system's token belongs to the system's service user (so it outlives the
    # people who issued it) and names the system its inbound calls come from.
    system = models.ForeignKey(
        "integrations.ConnectedSystem",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tokens",
        verbose_name=_("connected system"),
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(_("scopes"), default=list)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("API token")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class LoginFailure(models.Model):
    """A failed sign-in, kept for throttling (by username and by client IP)."""

    username = models.CharField(max_length=150, db_index=True)
    client_ip = models.GenericIPAddressField(null=True, db_index=True)
    at = models.DateTimeField(db_index=True)
