"""The declarative REST connector's manifest: how Baton talks to a system that has no SCIM — an
OA, a CRM, an ERP, code hosting, a finance system — described as HTTP steps
(docs/integrations-manifest.md).

This module reads a manifest (JSON or YAML), checks it and says exactly where a problem is
("steps.revoke[1].expect.status: …"), and runs its steps:

- **Templates** are our own and tiny: `{{ employee.email }}`, `{{ account.id }}`,
  `{{ secrets.api_key }}`, `{{ page }}` … Only names of the context Baton builds are allowed —
  no expressions, no filters, no attribute access beyond the dicts given, nothing executed.
  A value is inserted once and never read again as a template, URL-encoded in paths (a "/" in
  a name stays inside its path segment), passed as a parameter in queries, and JSON-encoded in
  bodies (a value that is a whole string keeps its JSON type).
- **Secrets** are referenced by name and resolved from the system's sealed secrets when a step
  runs; a header or parameter that looks like a secret written out literally is refused.
- **Steps**: method, path (below the system's base URL) or url, query, headers, JSON body;
  `expect` (status list, JSON paths equal / not equal / existing / non-empty); `extract`
  (name → JSON path) feeding later steps; `found_if` deciding whether `find` found anyone;
  pagination for pulls (page number, cursor, or next link — always with a hard cap).
  `steps.py` runs them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import yaml
from django.utils.translation import gettext as _

from baton.core.errors import InvalidInput

FLOWS = ("test", "find", "revoke", "transfer", "verify", "delete", "reassign_customer")
KINDS = ("customer", "order", "project", "purchase_order", "asset", "loan", "expense_claim")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
RECORD_FIELDS = (
    "external_id",
    "name",
    "amount",
    "currency",
    "contact_name",
    "contact_email",
    "contact_phone",
    "contact_language",
)
# What each context value offers (validated when the manifest is saved).
EMPLOYEE_FIELDS = ("id", "number", "name", "email", "phone", "login", "external_id")
PERSON_FIELDS = ("id", "number", "name", "email", "phone", "login")
ACCOUNT_FIELDS = ("id", "login", "active")
ITEM_FIELDS = ("id", "kind", "external_id", "name", "contact_name", "contact_email")
CASE_FIELDS = ("id", "last_working_day", "exit_type")
ROOTS = frozenset(
    {"employee", "receiver", "account", "item", "case", "secrets", "page", "cursor", "vars"}
)
MAX_STEPS = 20
MAX_PAGES_LIMIT = 1000
DEFAULT_MAX_PAGES = 100
DEFAULT_LOGIN = "{{ employee.email }}"
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_REF = re.compile(rf"^({_NAME})((?:\.{_NAME})*)$")
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.S)
_SECRET_LIKE = re.compile(
    r"authorization|token|secret|passw|api[-_]?key|apikey|cookie|signature|credential", re.I
)
_JSON_PATH_STEP = re.compile(
    r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(-?\d+)\]|\[\"((?:[^\"\\]|\\.)*)\"\]|\['([^']*)'\]"
)


class ManifestError(Exception):
    """A manifest that cannot be used, with every problem and where it is."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("\n".join(f"{p}: {m}" if p else m for p, m in errors))

    def messages(self) -> list[str]:
        return [f"{p}: {m}" if p else m for p, m in self.errors]


class RenderError(Exception):
    """A template could not be filled in when a step ran (a value missing or not usable)."""


# ---------------------------------------------------------------- templates


@dataclass(frozen=True)
class Ref:
    root: str
    fields: tuple[str, ...]

    def __str__(self) -> str:
        return "{{ " + ".".join((self.root, *self.fields)) + " }}"


@dataclass(frozen=True)
class Template:
    source: str
    parts: tuple[str | Ref, ...]

    @property
    def refs(self) -> list[Ref]:
        return [p for p in self.parts if isinstance(p, Ref)]

    @property
    def whole(self) -> Ref | None:
        """The reference when the template is exactly one `{{ … }}` and nothing else."""
        return self.parts[0] if len(self.parts) == 1 and isinstance(self.parts[0], Ref) else None

    def value(self, ctx: Mapping[str, Any]) -> Any:
        """A whole reference keeps its type (for JSON bodies and query values); otherwise text."""
        ref = self.whole
        return lookup(ctx, ref) if ref is not None else self.text(ctx)

    def text(self, ctx: Mapping[str, Any], escape: Callable[[str], str] | None = None) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = lookup(ctx, part)
            if value is None:
                raise RenderError(_("%(ref)s has no value here.") % {"ref": part})
            text = _as_text(value)
            out.append(escape(text) if escape else text)
        return "".join(out)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise RenderError(_("A group of values cannot be written into text; name one of its fields."))


def compile_template(source: str) -> Template:
    """Parse `source`; raises ValueError naming what is not allowed."""
    parts: list[str | Ref] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(source):
        if m.start() > pos:
            parts.append(source[pos : m.start()])
        inner = m.group(1).strip()
        ref = _REF.match(inner)
        if ref is None:
            raise ValueError(
                _("“%(text)s” is not allowed: write {{ name }} or {{ name.field }}, nothing else.")
                % {"text": m.group(0)}
            )
        parts.append(Ref(ref.group(1), tuple(f for f in ref.group(2).split(".") if f)))
        pos = m.end()
    if pos < len(source):
        parts.append(source[pos:])
    for part in parts:
        if isinstance(part, str) and ("{{" in part or "}}" in part):
            raise ValueError(_("Unbalanced {{ or }}."))
    return Template(source, tuple(parts))


def lookup(ctx: Mapping[str, Any], ref: Ref) -> Any:
    """The value a reference names: keys of the plain dicts Baton built, nothing else."""
    if ref.root not in ctx:
        raise RenderError(_("%(ref)s is not available here.") % {"ref": ref})
    value = ctx[ref.root]
    for name in ref.fields:
        if value is None:
            raise RenderError(_("%(ref)s has no value here.") % {"ref": ref})
        if not isinstance(value, dict) or name not in value:
            if ref.root == "secrets":
                raise RenderError(
                    _("The secret “%(name)s” is not set on this system.") % {"name": name}
                )
            raise RenderError(_("%(ref)s is not available here.") % {"ref": ref})
        value = value[name]
    if isinstance(value, dict | list):
        raise RenderError(_("%(ref)s is a group of values; name one of its fields.") % {"ref": ref})
    return value


def path_escape(text: str) -> str:
    """A value inside a URL path: every reserved character encoded, so it stays one segment
    ("." and ".." too, which URL normalisation would otherwise resolve)."""
    quoted = quote(text, safe="")
    return quoted.replace(".", "%2E") if quoted in (".", "..") else quoted


# ---------------------------------------------------------------- JSON paths


@dataclass(frozen=True)
class JsonPath:
    """`$`, `$.items[0].id`, `$.data["display name"]`: keys and list indexes, nothing more."""

    source: str
    parts: tuple[str | int, ...]

    def find(self, doc: Any) -> tuple[bool, Any]:
        value = doc
        for part in self.parts:
            if isinstance(part, int):
                if not isinstance(value, list) or not -len(value) <= part < len(value):
                    return False, None
            elif not isinstance(value, dict) or part not in value:
                return False, None
            value = value[part]
        return True, value

    def get(self, doc: Any) -> Any:
        return self.find(doc)[1]


def compile_path(source: str) -> JsonPath:
    if not isinstance(source, str) or not source.startswith("$"):
        raise ValueError(_("A JSON path starts with $ (e.g. $.items[0].id)."))
    parts: list[str | int] = []
    pos = 1
    while pos < len(source):
        m = _JSON_PATH_STEP.match(source, pos)
        if m is None:
            raise ValueError(
                _('Cannot read the JSON path at “%(rest)s”: use .name, [0] or ["name"].')
                % {"rest": source[pos:]}
            )
        name, index, dq, sq = m.groups()
        if index is not None:
            parts.append(int(index))
        elif dq is not None:
            parts.append(json.loads(f'"{dq}"'))
        else:
            parts.append(name if name is not None else sq)
        pos = m.end()
    return JsonPath(source, tuple(parts))


# ---------------------------------------------------------------- the parsed manifest

NO_BODY: Any = object()


@dataclass
class Conditions:
    """Success conditions on an answer (all must hold)."""

    status: tuple[int, ...] | None = None  # None: any 2xx
    equals: list[tuple[JsonPath, Any]] = field(default_factory=list)
    not_equals: list[tuple[JsonPath, Any]] = field(default_factory=list)
    exists: list[JsonPath] = field(default_factory=list)
    not_empty: list[JsonPath] = field(default_factory=list)

    @property
    def reads_body(self) -> bool:
        return bool(self.equals or self.not_equals or self.exists or self.not_empty)

    def status_ok(self, status: int) -> bool:
        return status in self.status if self.status is not None else 200 <= status < 300

    def failures(self, status: int, doc: Any, ctx: Mapping[str, Any]) -> list[str]:
        out = []
        if not self.status_ok(status):
            wanted = ", ".join(map(str, self.status)) if self.status else "2xx"
            out.append(_("status %(got)s, expected %(wanted)s") % {"got": status, "wanted": wanted})
        for path, want in self.equals:
            want = _wanted(want, ctx)
            found, got = path.find(doc)
            if not found or got != want:
                out.append(_expected(path, "=", want, found, got))
        for path, want in self.not_equals:
            want = _wanted(want, ctx)
            found, got = path.find(doc)
            if found and got == want:
                out.append(_expected(path, "≠", want, found, got))
        for path in self.exists:
            if not path.find(doc)[0]:
                out.append(_("%(path)s is missing") % {"path": path.source})
        for path in self.not_empty:
            found, got = path.find(doc)
            if not found or got in (None, "", [], {}):
                out.append(_("%(path)s is empty") % {"path": path.source})
        return out


def _wanted(want: Any, ctx: Mapping[str, Any]) -> Any:
    if isinstance(want, Template):
        try:
            return want.value(ctx)
        except RenderError as exc:
            return f"<{exc}>"
    return want


def _expected(path: JsonPath, op: str, want: Any, found: bool, got: Any) -> str:
    shown = json.dumps(got, ensure_ascii=False)[:80] if found else _("missing")
    return _("expected %(path)s %(op)s %(want)s, got %(got)s") % {
        "path": path.source,
        "op": op,
        "want": json.dumps(want, ensure_ascii=False),
        "got": shown,
    }


@dataclass
class Step:
    label: str  # names the calls in the log ("revoke[1]" or the step's own name)
    where: str  # the step's place in the manifest, for messages ("steps.revoke[1]")
    method: str
    path: Template | None
    url: Template | None
    query: dict[str, Any]
    headers: dict[str, Template]
    body: Any  # JSON with Templates at the leaves, or NO_BODY
    expect: Conditions
    found_if: Conditions | None
    extract: dict[str, JsonPath]
    timeout: float | None


@dataclass
class Paginate:
    style: str = "none"  # none | page | cursor | next
    start: int = 1
    more: JsonPath | None = None
    next: JsonPath | None = None
    max_pages: int = DEFAULT_MAX_PAGES


@dataclass
class PullSpec:
    kind: str
    request: Step
    items: JsonPath
    paginate: Paginate
    fields: dict[str, JsonPath]
    details: dict[str, JsonPath]


@dataclass
class Manifest:
    headers: dict[str, Template]
    login: Template
    timeout: float | None
    flows: dict[str, list[Step]]
    pulls: dict[str, PullSpec]
    uses: dict[str, set[str]]  # flow ("pull" for all pulls) → context roots its templates use

    def has(self, flow: str) -> bool:
        return bool(self.flows.get(flow))


# ---------------------------------------------------------------- reading and checking


def parse_text(text: str) -> Any:
    """A manifest's text (JSON or YAML) as data; raises ManifestError if neither reads."""
    try:
        return yaml.safe_load(text)  # YAML 1.1 is a superset of JSON
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ManifestError(
            [
                (
                    "",
                    _("The manifest is neither JSON nor YAML: %(p)s%(w)s")
                    % {"p": problem, "w": where},
                )
            ]
        ) from None


def load(data: Any, *, secret_names: set[str] | None = None) -> Manifest:
    """Check a manifest (text, or data already read) and return it ready to run. Raises
    ManifestError listing every problem with its place. With `secret_names`, references to
    secrets the system does not have are problems too."""
    if isinstance(data, str | bytes):
        data = parse_text(data.decode() if isinstance(data, bytes) else data)
    checker = _Checker(secret_names)
    manifest = checker.manifest(data)
    if checker.errors:
        raise ManifestError(checker.errors)
    assert manifest is not None
    return manifest


def clean_config(config: Any, *, secret_names: set[str] | None = None) -> dict[str, Any]:
    """A REST system's configuration as the systems form and API save it: the manifest (data,
    or JSON/YAML text) checked, as data. Raises InvalidInput with every problem under
    "config.<place>" (e.g. "config.steps.revoke[1].expect.status")."""
    try:
        data = parse_text(config) if isinstance(config, str) else config
        load(data, secret_names=secret_names)
    except ManifestError as exc:
        errors: dict[str, list[str]] = {}
        for where, message in exc.errors:
            errors.setdefault(f"config.{where}" if where else "config", []).append(message)
        raise InvalidInput(
            _("The manifest has problems (%(n)d); nothing was saved.") % {"n": len(exc.errors)},
            errors,
        ) from None
    assert isinstance(data, dict)
    return data


class _Checker:
    def __init__(self, secret_names: set[str] | None) -> None:
        self.errors: list[tuple[str, str]] = []
        self.secret_names = secret_names
        self.find_extracts: set[str] = set()  # beyond id, login, active
        self.find_all: set[str] = set()
        self.current_vars: set[str] = set()
        self.uses: dict[str, set[str]] = {}

    def err(self, where: str, message: str) -> None:
        self.errors.append((where, message))

    def _keys(self, where: str, data: Any, allowed: tuple[str, ...]) -> bool:
        if not isinstance(data, dict):
            self.err(where, _("Expected a mapping (name: value)."))
            return False
        for key in data:
            if key not in allowed:
                self.err(
                    f"{where}.{key}" if where else str(key),
                    _("Unknown key; allowed here: %(keys)s") % {"keys": ", ".join(allowed)},
                )
        return True

    def manifest(self, data: Any) -> Manifest | None:
        # `match` is the revocation engine's (which employee attribute an account is found by
        # when none is linked; baton/integrations/logins.py), shared with SCIM systems.
        top = ("version", "match", "headers", "login", "timeout", "steps", "pull")
        if not self._keys("", data, top):
            return None
        if data.get("version", 1) != 1:
            self.err("version", _("Only version 1 exists."))
        if not isinstance(data.get("match", ""), str):
            self.err("match", _("Expected text."))
        headers = self.headers("headers", data.get("headers") or {}, "headers")
        login = self.template(
            "login", data.get("login", DEFAULT_LOGIN), "login"
        ) or compile_template(DEFAULT_LOGIN)
        timeout = self.timeout("timeout", data.get("timeout"))
        steps = data.get("steps") or {}
        flows: dict[str, list[Step]] = {}
        if self._keys("steps", steps, FLOWS):
            # find first: its extracts are the account's fields in the other flows.
            for flow in sorted(steps, key=lambda f: f != "find"):
                if flow in FLOWS:
                    flows[flow] = self.flow(flow, steps[flow])
        if flows.get("find") and "id" not in self.find_all:
            self.err("steps.find", _("Extract the account's id: extract: {id: $.…}."))
        if flows.get("revoke") and not flows.get("find"):
            self.err("steps.revoke", _("Revoking needs a find flow to look the account up."))
        pulls: dict[str, PullSpec] = {}
        raw_pulls = data.get("pull") or {}
        if self._keys("pull", raw_pulls, KINDS):
            for kind, spec in raw_pulls.items():
                if kind in KINDS:
                    pull = self.pull(kind, spec)
                    if pull is not None:
                        pulls[kind] = pull
        if not flows and not pulls:
            self.err("", _("The manifest has no steps and no pulls: it would do nothing."))
        return Manifest(headers, login, timeout, flows, pulls, self.uses)

    def timeout(self, where: str, value: Any) -> float | None:
        if value is None:
            return None
        if not isinstance(value, int | float) or isinstance(value, bool) or not 1 <= value <= 60:
            self.err(where, _("A number of seconds from 1 to 60."))
            return None
        return float(value)

    def template(self, where: str, value: Any, flow: str) -> Template | None:
        if not isinstance(value, str):
            self.err(where, _("Expected text."))
            return None
        try:
            tpl = compile_template(value)
        except ValueError as exc:
            self.err(where, str(exc))
            return None
        for ref in tpl.refs:
            self.check_ref(where, ref, flow)
        return tpl

    def check_ref(self, where: str, ref: Ref, flow: str) -> None:
        allowed = self.roots(flow)
        self.uses.setdefault("pull" if flow.startswith("pull.") else flow, set()).add(ref.root)
        if ref.root not in allowed:
            self.err(
                where,
                _("%(ref)s is not available here; use one of: %(names)s")
                % {"ref": ref, "names": ", ".join(sorted(allowed))},
            )
            return
        fields = allowed[ref.root]
        if fields is None:
            if ref.fields:
                self.err(
                    where, _("%(ref)s: %(root)s has no fields.") % {"ref": ref, "root": ref.root}
                )
            return
        if len(ref.fields) != 1:
            self.err(where, _("%(ref)s: name exactly one field.") % {"ref": ref})
            return
        name = ref.fields[0]
        if ref.root == "secrets":
            if self.secret_names is not None and name not in self.secret_names:
                self.err(where, _("The system has no secret named “%(name)s”.") % {"name": name})
            return
        if ref.root == "vars":
            if name not in self.current_vars:
                self.err(
                    where,
                    _("%(ref)s: no earlier step of this flow extracts “%(name)s”.")
                    % {"ref": ref, "name": name},
                )
            return
        if name not in fields:
            self.err(
                where,
                _("%(ref)s is unknown; %(root)s has: %(fields)s")
                % {"ref": ref, "root": ref.root, "fields": ", ".join(sorted(fields))},
            )

    def roots(self, flow: str) -> dict[str, Any]:
        """Context root → its fields (None: a plain value; "any": any name) in a flow."""
        if flow == "headers":
            return {"secrets": "any"}
        if flow == "login":
            return {"employee": EMPLOYEE_FIELDS}
        if flow == "test":  # a connection check: nobody in particular
            return {"secrets": "any", "vars": "any"}
        out: dict[str, Any] = {
            "employee": EMPLOYEE_FIELDS,
            "case": CASE_FIELDS,
            "secrets": "any",
            "receiver": PERSON_FIELDS,
            "vars": "any",
        }
        if flow not in ("find", "test"):
            out["account"] = (*ACCOUNT_FIELDS, *sorted(self.find_extracts))
        if flow == "reassign_customer":
            out["item"] = ITEM_FIELDS
        if flow.startswith("pull."):
            style = flow.split(".")[-1]
            if style in ("page", "cursor"):
                out[style] = None
        return out

    def headers(self, where: str, data: Any, flow: str) -> dict[str, Template]:
        out: dict[str, Template] = {}
        if not isinstance(data, dict):
            self.err(where, _("Expected a mapping (name: value)."))
            return out
        for name, value in data.items():
            w = f"{where}.{name}"
            if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", name):
                self.err(w, _("Not a valid header name."))
                continue
            tpl = self.template(w, value, flow)
            if tpl is not None:
                self.literal_secret(w, name, tpl)
                out[name] = tpl
        return out

    def literal_secret(self, where: str, name: str, tpl: Template) -> None:
        """A credential must be a reference: manifests are shown, copied and logged."""
        if not _SECRET_LIKE.search(name):
            return
        literal = "".join(p for p in tpl.parts if isinstance(p, str)).strip()
        uses_secret = any(r.root == "secrets" for r in tpl.refs)
        if (
            literal
            and not uses_secret
            and len(literal) >= 6
            and literal.lower()
            not in (
                "bearer",
                "basic",
                "token",
            )
        ):
            self.err(
                where,
                _(
                    "This looks like a secret written into the manifest; store it as a secret of "
                    "the system and write {{ secrets.NAME }}."
                ),
            )

    def flow(self, flow: str, data: Any) -> list[Step]:
        where = f"steps.{flow}"
        if not isinstance(data, list) or not data:
            self.err(where, _("Expected a list of steps."))
            return []
        if len(data) > MAX_STEPS:
            self.err(where, _("At most %(n)d steps.") % {"n": MAX_STEPS})
        self.current_vars = set()
        steps = []
        for i, raw in enumerate(data[:MAX_STEPS]):
            label = flow if len(data) == 1 else f"{flow}[{i}]"
            step = self.step(f"{where}[{i}]", raw, flow, label)
            if step is not None:
                steps.append(step)
                self.current_vars |= set(step.extract)
                if flow == "find":
                    self.find_all |= set(step.extract)
                    self.find_extracts |= set(step.extract) - set(ACCOUNT_FIELDS)
        return steps

    def step(self, where: str, raw: Any, flow: str, label: str) -> Step | None:
        keys = (
            "name",
            "method",
            "path",
            "url",
            "query",
            "headers",
            "json",
            "expect",
            "extract",
            "found_if",
            "timeout",
        )
        if not self._keys(where, raw, keys):
            return None
        name = raw.get("name")
        if name is not None:
            if not isinstance(name, str) or not re.fullmatch(r"[\w:.\-\[\]]{1,40}", name):
                self.err(f"{where}.name", _("Up to 40 letters, digits, _ - : . [ ]."))
            else:
                label = name
        method = str(raw.get("method", "GET")).upper()
        if method not in METHODS:
            self.err(f"{where}.method", _("One of %(m)s.") % {"m": ", ".join(METHODS)})
        path = url = None
        if ("path" in raw) == ("url" in raw):
            self.err(where, _("Give either path (below the base URL) or url, not both."))
        elif "path" in raw:
            path = self.template(f"{where}.path", raw["path"], flow)
            if path is not None and (
                not path.source.startswith("/") or path.source.startswith("//")
            ):
                self.err(f"{where}.path", _("A path starts with a single / (below the base URL)."))
        else:
            url = self.template(f"{where}.url", raw["url"], flow)
            if url is not None:
                head = url.parts[0] if url.parts and isinstance(url.parts[0], str) else ""
                parts = urlsplit(head)
                if (
                    parts.scheme not in ("http", "https")
                    or not parts.netloc
                    or (len(url.parts) > 1 and "/" not in head[len(parts.scheme) + 3 :])
                ):
                    self.err(
                        f"{where}.url",
                        _("An absolute http(s) URL whose scheme and host are written out."),
                    )
        query: dict[str, Any] = {}
        raw_query = raw.get("query") or {}
        if isinstance(raw_query, dict):
            for key, value in raw_query.items():
                w = f"{where}.query.{key}"
                if isinstance(value, bool | int | float):
                    query[str(key)] = value
                else:
                    tpl = self.template(w, value, flow)
                    if tpl is not None:
                        self.literal_secret(w, str(key), tpl)
                        query[str(key)] = tpl
        else:
            self.err(f"{where}.query", _("Expected a mapping (name: value)."))
        headers = self.headers(f"{where}.headers", raw.get("headers") or {}, flow)
        body = self.body(f"{where}.json", raw["json"], flow) if "json" in raw else NO_BODY
        expect = self.conditions(f"{where}.expect", raw.get("expect") or {}, flow)
        found_if = None
        if "found_if" in raw:
            if flow != "find":
                self.err(f"{where}.found_if", _("Only steps of the find flow have found_if."))
            found_if = self.conditions(f"{where}.found_if", raw["found_if"], flow)
        extract: dict[str, JsonPath] = {}
        raw_extract = raw.get("extract") or {}
        if isinstance(raw_extract, dict):
            for key, value in raw_extract.items():
                w = f"{where}.extract.{key}"
                if not isinstance(key, str) or not re.fullmatch(_NAME, key):
                    self.err(w, _("A name of letters, digits and _."))
                    continue
                jp = self.json_path(w, value)
                if jp is not None:
                    extract[key] = jp
        else:
            self.err(f"{where}.extract", _("Expected a mapping (name: JSON path)."))
        timeout = self.timeout(f"{where}.timeout", raw.get("timeout"))
        return Step(
            label[:40], where, method, path, url, query, headers, body, expect, found_if,
            extract, timeout,
        )  # fmt: skip

    def body(self, where: str, value: Any, flow: str) -> Any:
        if isinstance(value, str):
            tpl = self.template(where, value, flow)
            return tpl if tpl is not None else value
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                w = f"{where}.{k}"
                out[str(k)] = self.body(w, v, flow)
                if isinstance(v, str) and isinstance(out[str(k)], Template):
                    self.literal_secret(w, str(k), out[str(k)])
            return out
        if isinstance(value, list):
            return [self.body(f"{where}[{i}]", v, flow) for i, v in enumerate(value)]
        if value is None or isinstance(value, bool | int | float):
            return value
        self.err(where, _("Not a JSON value."))
        return None

    def json_path(self, where: str, value: Any) -> JsonPath | None:
        try:
            return compile_path(value)
        except ValueError as exc:
            self.err(where, str(exc))
            return None

    def paths(self, where: str, value: Any) -> list[JsonPath]:
        items = value if isinstance(value, list) else [value]
        out = []
        for i, item in enumerate(items):
            jp = self.json_path(f"{where}[{i}]" if isinstance(value, list) else where, item)
            if jp is not None:
                out.append(jp)
        return out

    def conditions(self, where: str, data: Any, flow: str) -> Conditions:
        cond = Conditions()
        if not self._keys(where, data, ("status", "equals", "not_equals", "exists", "not_empty")):
            return cond
        if "status" in data:
            raw = data["status"]
            codes = raw if isinstance(raw, list) else [raw]
            ok = bool(codes) and all(
                isinstance(c, int) and not isinstance(c, bool) and 100 <= c <= 599 for c in codes
            )
            if ok:
                cond.status = tuple(codes)
            else:
                self.err(f"{where}.status", _("HTTP status codes (100–599), e.g. [200, 204]."))
        for key in ("equals", "not_equals"):
            raw = data.get(key) or {}
            if not isinstance(raw, dict):
                self.err(f"{where}.{key}", _("Expected a mapping (JSON path: value)."))
                continue
            for path, want in raw.items():
                w = f"{where}.{key}.{path}"
                jp = self.json_path(w, path)
                if isinstance(want, dict | list):
                    self.err(w, _("Compare with a single value (text, number, true/false, null)."))
                    continue
                if isinstance(want, str):
                    # Text may name context values: {"$.owner": "{{ receiver.login }}"}.
                    want = self.template(w, want, flow)
                    if want is None:
                        continue
                if jp is not None:
                    getattr(cond, key).append((jp, want))
        if "exists" in data:
            cond.exists = self.paths(f"{where}.exists", data["exists"])
        if "not_empty" in data:
            cond.not_empty = self.paths(f"{where}.not_empty", data["not_empty"])
        return cond

    def pull(self, kind: str, data: Any) -> PullSpec | None:
        where = f"pull.{kind}"
        if not self._keys(where, data, ("request", "items", "paginate", "fields", "details")):
            return None
        pag = self.paginate(f"{where}.paginate", data.get("paginate") or {})
        flow = f"pull.{pag.style}"
        self.current_vars = set()
        request = self.step(f"{where}.request", data.get("request"), flow, f"pull:{kind}")
        items = self.json_path(f"{where}.items", data.get("items", "$"))
        if request is not None and request.extract:
            self.err(f"{where}.request.extract", _("A pull reads its records through fields."))
        if request is not None and pag.style in ("page", "cursor"):
            used = {r.root for tpl in _templates(request) for r in tpl.refs}
            if pag.style not in used:
                self.err(
                    f"{where}.paginate.style",
                    _("The request must use {{ %(name)s }} (e.g. in its query).")
                    % {"name": pag.style},
                )
        fields: dict[str, JsonPath] = {}
        raw_fields = data.get("fields")
        if self._keys(f"{where}.fields", raw_fields, RECORD_FIELDS):
            for key in ("external_id", "name"):
                if key not in raw_fields:
                    self.err(
                        f"{where}.fields.{key}",
                        _("Required: where the record's %(f)s is.") % {"f": key},
                    )
            for key, value in raw_fields.items():
                jp = self.json_path(f"{where}.fields.{key}", value)
                if jp is not None and key in RECORD_FIELDS:
                    fields[key] = jp
        details: dict[str, JsonPath] = {}
        raw_details = data.get("details") or {}
        if isinstance(raw_details, dict):
            for key, value in raw_details.items():
                jp = self.json_path(f"{where}.details.{key}", value)
                if jp is not None:
                    details[str(key)] = jp
        else:
            self.err(f"{where}.details", _("Expected a mapping (name: JSON path)."))
        if request is None or items is None:
            return None
        return PullSpec(kind, request, items, pag, fields, details)

    def paginate(self, where: str, data: Any) -> Paginate:
        pag = Paginate()
        if not self._keys(where, data, ("style", "start", "more", "next", "max_pages")):
            return pag
        pag.style = data.get("style", "none")
        if pag.style not in ("none", "page", "cursor", "next"):
            self.err(f"{where}.style", _("One of none, page, cursor, next."))
            pag.style = "none"
        start = data.get("start", 1)
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            self.err(f"{where}.start", _("A whole number, 0 or more."))
        else:
            pag.start = start
        cap = data.get("max_pages", DEFAULT_MAX_PAGES)
        if not isinstance(cap, int) or isinstance(cap, bool) or not 1 <= cap <= MAX_PAGES_LIMIT:
            self.err(f"{where}.max_pages", _("From 1 to %(n)d.") % {"n": MAX_PAGES_LIMIT})
        else:
            pag.max_pages = cap
        if "more" in data:
            pag.more = self.json_path(f"{where}.more", data["more"])
        if "next" in data:
            pag.next = self.json_path(f"{where}.next", data["next"])
        elif pag.style in ("cursor", "next"):
            self.err(f"{where}.next", _("Required: where the answer says what comes next."))
        return pag


def _templates(step: Step) -> Iterator[Template]:
    if step.path:
        yield step.path
    if step.url:
        yield step.url
    yield from (v for v in step.query.values() if isinstance(v, Template))
    yield from step.headers.values()
    stack = [step.body]
    while stack:
        node = stack.pop()
        if isinstance(node, Template):
            yield node
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
