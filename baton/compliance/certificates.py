"""Exit documents: what a certificate states and how it is rendered.

- **Facts.** The CN separation certificate (离职证明) states exactly the four facts Impl. Reg. 24
  requires — contract term, termination date, position, years of service with this employer —
  plus who it is about, the employer, its number and date. Never the reason, never remarks (a
  negative remark invites a dispute; LCL 50, labor-rules.md §2.2). The JP 退職証明書 states only
  the items the worker asked for (LSA §22): period of employment, job type, position, wage,
  reason.
- **Sandbox.** A template body is plain text with `{placeholders}` taken from a fixed list per
  document; nothing else is interpreted — no Django template tags, filters or attribute access,
  so an edited wording can neither reach other data nor run code. Every value is HTML-escaped.
  A line starting with `[item]` is kept only when that optional item is on the document.
- **PDF.** WeasyPrint with Noto CJK, fetching nothing; the verification code and a QR code of
  the public verification URL are printed on it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from baton.compliance.models import CertificateKind, CertificateTemplate
from baton.core.errors import Conflict
from baton.handover.models import ExitCase, ExitType
from baton.org.models import Contract, ContractType

# ---------------------------------------------------------------- what each document may say


@dataclass(frozen=True)
class DocumentSpec:
    """What one kind of exit document may state, in which language, for which jurisdiction."""

    kind: CertificateKind
    jurisdiction: str
    language: str
    font: str
    placeholders: frozenset[str]  # everything a body may use
    required: frozenset[str]  # must appear (the statutory content)
    optional_items: tuple[str, ...] = ()  # stated only when asked for (each on its own line)


COMMON = frozenset({"name", "employer", "issue_date", "number"})
CN_REQUIRED = frozenset({"contract_term", "termination_date", "position", "years_of_service"})
JP_ITEMS = ("period", "job_type", "position", "wage", "reason")

SPECS: dict[str, DocumentSpec] = {
    CertificateKind.CN_SEPARATION: DocumentSpec(
        CertificateKind.CN_SEPARATION,
        "CN",
        "zh-hans",
        "Noto Sans CJK SC",
        COMMON | CN_REQUIRED | {"termination_word"},
        CN_REQUIRED,
    ),
    CertificateKind.JP_TAISHOKU: DocumentSpec(
        CertificateKind.JP_TAISHOKU,
        "JP",
        "ja",
        "Noto Sans CJK JP",
        COMMON | frozenset(JP_ITEMS),
        frozenset(),
        JP_ITEMS,
    ),
}

# The document's own fixed words (number, verification), in the document's language — the
# certificate is in the language of its jurisdiction whatever the reader's UI language.
LABELS: dict[str, dict[str, str]] = {
    "zh-hans": {
        "number": "编号",
        "code": "核验码",
        "verify": "扫描二维码或访问以下网址核验本证明的真伪：",
        "seal": "（盖章）",
    },
    "ja": {
        "number": "番号",
        "code": "照合コード",
        "verify": "QRコードまたは次のURLで本証明書の真正性を確認できます：",
        "seal": "（印）",
    },
}

DEFAULT_TEMPLATES: dict[str, tuple[str, str]] = {
    CertificateKind.CN_SEPARATION: (
        "离职证明",
        "兹证明{name}与本单位订立的劳动合同期限为{contract_term}。\n"
        "双方的劳动合同已于{termination_date}{termination_word}。\n"
        "其在本单位的工作岗位为{position}，在本单位的工作年限为{years_of_service}。\n"
        "特此证明。",
    ),
    CertificateKind.JP_TAISHOKU: (
        "退職証明書",
        "{name} 殿\n"
        "あなたの請求に基づき、以下の事項を証明します。\n"
        "[period]使用期間：{period}\n"
        "[job_type]業務の種類：{job_type}\n"
        "[position]その事業における地位：{position}\n"
        "[wage]賃金：{wage}\n"
        "[reason]退職の事由：{reason}",
    ),
}

JURISDICTION_KIND = {"CN": CertificateKind.CN_SEPARATION, "JP": CertificateKind.JP_TAISHOKU}

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
BRACED = re.compile(r"\{([^{}]*)\}")  # anything in braces: a publishable body has only facts
ITEM_LINE = re.compile(r"^\[([a-z_]+)\]")


def kind_for(case: ExitCase) -> CertificateKind | None:
    """The exit document the case's jurisdiction defines, if any."""
    code = (case.legal_entity.jurisdiction or "").upper().split("-")[0]
    return JURISDICTION_KIND.get(code)


# ---------------------------------------------------------------- the sandbox


class TemplateError(ValueError):
    """A template body that uses something it may not."""


def check_body(kind: str, body: str) -> None:
    """Refuse a body that uses an unknown placeholder, leaves out a required fact, or states an
    optional item outside its own `[item]` line."""
    spec = SPECS[kind]
    used: set[str] = set()
    for line in body.splitlines():
        m = ITEM_LINE.match(line)
        guard = m.group(1) if m else None
        if guard is not None and guard not in spec.optional_items:
            raise TemplateError(_("Unknown optional item [%(item)s].") % {"item": guard})
        for name in BRACED.findall(line):
            if name not in spec.placeholders:
                raise TemplateError(
                    _("{%(name)s} is not one of the facts this document may state.")
                    % {"name": name}
                )
            if name in spec.optional_items and name != guard:
                raise TemplateError(
                    _("{%(name)s} may only be used on a line starting with [%(name)s].")
                    % {"name": name}
                )
            used.add(name)
    missing = sorted(spec.required - used)
    if missing:
        raise TemplateError(
            _("The document must state: %(facts)s.")
            % {"facts": ", ".join(f"{{{m}}}" for m in missing)}
        )


def render_body(body: str, facts: Mapping[str, str], items: frozenset[str]) -> list[str]:
    """The body's paragraphs as HTML-escaped text: placeholders replaced by the facts, lines of
    optional items not asked for dropped. Nothing else in the body means anything."""
    out: list[str] = []
    for line in body.splitlines():
        m = ITEM_LINE.match(line)
        if m:
            if m.group(1) not in items:
                continue
            line = line[m.end() :]
        parts: list[str] = []
        pos = 0
        for ph in PLACEHOLDER.finditer(line):
            parts.append(html.escape(line[pos : ph.start()]))
            parts.append(html.escape(str(facts.get(ph.group(1), ""))))
            pos = ph.end()
        parts.append(html.escape(line[pos:]))
        text = "".join(parts).strip()
        if text:
            out.append(text)
    return out


# ---------------------------------------------------------------- facts


def cn_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def service_span(start: dt.date, last_day: dt.date) -> tuple[int, int]:
    """Full years and months of service from `start` to `last_day` inclusive."""
    end = last_day + dt.timedelta(days=1)
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        months -= 1
    months = max(0, months)
    return months // 12, months % 12


def years_text(years: int, months: int) -> str:
    if years and months:
        return f"{years}年{months}个月"
    if years:
        return f"{years}年"
    if months:
        return f"{months}个月"
    return "不足1个月"


def contract_for(case: ExitCase) -> Contract | None:
    """The contract with the case's employer in force on the last day, else the latest one."""
    contracts = list(
        Contract.objects.filter(
            employee_id=case.employee_id, legal_entity_id=case.legal_entity_id
        ).order_by("start_date", "id")
    )
    day = case.last_working_day
    in_force = [
        c for c in contracts if c.start_date <= day and (c.end_date is None or c.end_date >= day)
    ]
    if in_force:
        return in_force[-1]
    before = [c for c in contracts if c.start_date <= day]
    return before[-1] if before else (contracts[-1] if contracts else None)


def contract_term_text(contract: Contract) -> str:
    start = cn_date(contract.start_date)
    if contract.contract_type == ContractType.PROJECT:
        return f"自{start}起，以完成一定工作任务为期限"
    if contract.end_date is None or contract.contract_type == ContractType.OPEN_ENDED:
        return f"自{start}起的无固定期限"
    return f"自{start}至{cn_date(contract.end_date)}"


def service_start(case: ExitCase) -> dt.date:
    """When the service with this employer began: its first contract, else the hire date."""
    first = (
        Contract.objects.filter(employee_id=case.employee_id, legal_entity_id=case.legal_entity_id)
        .order_by("start_date")
        .values_list("start_date", flat=True)
        .first()
    )
    return first or case.employee.hire_date


ENDED_NOT_TERMINATED = {ExitType.CONTRACT_EXPIRY, ExitType.RETIREMENT}


def cn_facts(case: ExitCase) -> dict[str, str]:
    """The four facts of Impl. Reg. 24 (and the statute's own word for how the contract ended:
    终止 when it ran out or on retirement, 解除 otherwise — not a reason)."""
    contract = contract_for(case)
    if contract is None:
        raise Conflict(
            _(
                "No employment contract with %(entity)s is on record; the certificate must "
                "state the contract term. Record the contract first."
            )
            % {"entity": case.legal_entity.name}
        )
    position = case.employee.position
    years, months = service_span(service_start(case), case.last_working_day)
    return {
        "contract_term": contract_term_text(contract),
        "termination_date": cn_date(case.last_working_day),
        "termination_word": "终止" if case.exit_type in ENDED_NOT_TERMINATED else "解除",
        "position": position.title if position else "—",
        "years_of_service": years_text(years, months),
    }


def jp_facts(case: ExitCase, items: frozenset[str], wage: str, reason: str) -> dict[str, str]:
    """Only the items the worker asked for (LSA §22)."""
    position = case.employee.position
    facts: dict[str, str] = {}
    if "period" in items:
        facts["period"] = f"{cn_date(service_start(case))}～{cn_date(case.last_working_day)}"
    if "job_type" in items:
        facts["job_type"] = position.family.name if position and position.family_id else "—"
    if "position" in items:
        facts["position"] = position.title if position else "—"
    if "wage" in items:
        facts["wage"] = wage.strip()
    if "reason" in items:
        facts["reason"] = reason.strip()
    return facts


# ---------------------------------------------------------------- codes and URLs

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CODE_LENGTH = 16  # 80 random bits
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(raw: str) -> str:
    """The code as typed or scanned: case, dashes and spaces, and look-alike letters ignored."""
    return re.sub(r"[\s-]", "", raw or "").upper().translate(_CONFUSABLE)


def code_hash(raw: str) -> str:
    return hashlib.sha256(normalize_code(raw).encode()).hexdigest()


def grouped(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def verification_url(code: str) -> str:
    return settings.BATON_PUBLIC_URL + reverse("compliance_public:verify", args=[code])


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧阳**, Anna Smith → A*** S****: enough to match a person in
    hand, not to learn a name."""
    name = (name or "").strip()
    if not name:
        return ""
    if " " in name:
        return " ".join(w[0] + "*" * (len(w) - 1) for w in name.split())
    keep = 2 if len(name) >= 4 else 1
    return name[:keep] + "*" * (len(name) - keep)


# ---------------------------------------------------------------- rendering


@dataclass
class Rendered:
    html: str
    paragraphs: list[str]


def qr_svg(url: str) -> SafeString:
    import segno

    svg = segno.make(url, error="m").svg_inline(scale=3, border=2)
    return mark_safe(svg)  # noqa: S308 — generated by segno from our own URL


def render_html(
    template: CertificateTemplate,
    facts: Mapping[str, Any],
    *,
    code: str,
    items: frozenset[str] = frozenset(),
) -> Rendered:
    """The certificate's HTML (what WeasyPrint lays out)."""
    spec = SPECS[template.kind]
    paragraphs = render_body(template.body, facts, items)
    url = verification_url(code)
    html_text = render_to_string(
        "compliance/certificate_pdf.html",
        {
            "t": template,
            "lang": spec.language,
            "paragraphs": [mark_safe(p) for p in paragraphs],  # noqa: S308 — escaped above
            "facts": facts,
            "labels": LABELS[spec.language],
            "code": grouped(code),
            "url": url,
            "qr": qr_svg(url),
            "css": pdf_css(spec.font),
        },
    )
    return Rendered(html_text, paragraphs)


def pdf_css(font: str) -> str:
    return (
        "@page { size: A4; margin: 25mm 22mm 22mm; }\n"
        f'html {{ font-family: "{font}", "Noto Sans CJK SC", sans-serif; font-size: 12pt; '
        "color: #111; }\n"
        "h1 { text-align: center; font-size: 22pt; letter-spacing: 0.4em; margin: 0 0 6mm; }\n"
        ".number { text-align: right; font-size: 9.5pt; color: #444; margin: 0 0 10mm; }\n"
        ".body p { line-height: 2; margin: 0 0 2mm; text-indent: 2em; }\n"
        ".sign { margin-top: 22mm; text-align: right; line-height: 2; }\n"
        ".verify { position: absolute; bottom: 0; left: 0; right: 0; font-size: 8.5pt; "
        "color: #444; border-top: 0.5pt solid #999; padding-top: 3mm; }\n"
        ".verify svg { float: left; margin-right: 4mm; }\n"
        ".verify .code { font-family: monospace; font-size: 11pt; color: #111; }\n"
    )


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError(f"the certificate fetches nothing ({url[:40]})")


def to_document(rendered: Rendered) -> Any:
    """The laid-out WeasyPrint document (pages), before it is written as PDF."""
    from weasyprint import HTML

    return HTML(string=rendered.html, url_fetcher=_refuse_fetch).render()


def to_pdf(rendered: Rendered) -> bytes:
    pdf: bytes = to_document(rendered).write_pdf()
    return pdf


def layout_text(document: Any) -> list[str]:
    """The text of every laid-out line box, page by page (what the PDF shows)."""

    def walk(box: Any) -> Iterator[Any]:
        yield box
        for child in getattr(box, "children", None) or ():
            yield from walk(child)

    lines: list[str] = []
    for page in document.pages:
        for box in walk(page._page_box):
            if type(box).__name__ == "LineBox":
                text = "".join(b.text for b in walk(box) if hasattr(b, "text"))
                if text.strip():
                    lines.append(text.strip())
    return lines
