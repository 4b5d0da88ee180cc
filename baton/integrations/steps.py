"""Running a manifest's HTTP steps (`manifest.py` reads and checks the manifest): one request
per step over a `CallLog` client, its `expect` checked, its `extract` kept for the next steps,
pulls read page by page up to their hard cap. Failures are `StepFailed`, retryable or not."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import httpx
from django.utils.translation import gettext as _

from baton.integrations.calls import CallFailed
from baton.integrations.manifest import (
    NO_BODY,
    Manifest,
    PullSpec,
    RenderError,
    Step,
    Template,
    path_escape,
)


class StepFailed(Exception):
    """A step did not succeed. `retryable`: a time-out, a network error, a 5xx, 408 or 429
    (trying later may help); otherwise a refusal or an answer that does not meet `expect`."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


@dataclass
class Answer:
    status: int
    body: bytes
    url: str

    def json(self, step: Step) -> Any:
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            raise StepFailed(
                _("%(step)s: the answer is not JSON (HTTP %(status)s).")
                % {"step": step.label, "status": self.status},
                retryable=False,
                status=self.status,
            ) from None


RETRYABLE_STATUS = frozenset({408, 425, 429})


class Runner:
    """Runs a manifest's steps over one httpx client (a `CallLog` client: guarded, logged,
    secrets redacted) and reports failures as `StepFailed`."""

    def __init__(
        self,
        manifest: Manifest,
        client: httpx.Client,
        *,
        base_url: str,
        on_unmet: Callable[[str], None] = lambda _m: None,
        redact: Callable[[str], str] = lambda s: s,
        step_scope: Callable[[str], AbstractContextManager[Any]] = lambda _l: nullcontext(),
    ) -> None:
        self.manifest = manifest
        self.client = client
        self.base_url = base_url
        self.on_unmet = on_unmet  # marks the logged call as failed with the reason
        self.redact = redact
        self.step_scope = step_scope  # names the logged calls after the step

    def request(self, step: Step, ctx: Mapping[str, Any], *, url: str | None = None) -> Answer:
        """Send one step's request; raise StepFailed unless its status is expected."""
        try:
            req = self.build(step, ctx, url=url)
        except RenderError as exc:
            raise StepFailed(f"{step.where}: {exc}", retryable=False) from None
        try:
            with self.step_scope(step.label):
                resp = self.client.send(req)
        except CallFailed as exc:
            raise StepFailed(f"{step.label}: {exc}", retryable=exc.retryable) from None
        answer = Answer(resp.status_code, resp.content, str(resp.request.url))
        if not step.expect.status_ok(answer.status):
            snippet = self.redact(answer.body[:300].decode("utf-8", "replace"))
            message = _("%(step)s: HTTP %(status)s: %(body)s") % {
                "step": step.label,
                "status": answer.status,
                "body": snippet or "-",
            }
            retryable = answer.status >= 500 or answer.status in RETRYABLE_STATUS
            if 200 <= answer.status < 400:
                self.on_unmet(message)
            raise StepFailed(message, retryable=retryable, status=answer.status)
        return answer

    def build(self, step: Step, ctx: Mapping[str, Any], *, url: str | None = None) -> httpx.Request:
        follow = url is not None  # a next link is followed as given, query and all
        if url is None:
            if step.path is not None:
                url = step.path.text(ctx, path_escape)
            else:
                assert step.url is not None
                url = step.url.text(ctx, path_escape)
        params: dict[str, Any] = {}
        for key, value in ({} if follow else step.query).items():
            value = value.value(ctx) if isinstance(value, Template) else value
            if value is None:
                continue  # e.g. no cursor yet on the first page
            if isinstance(value, bool):
                value = "true" if value else "false"
            params[key] = value
        headers = {"accept": "application/json"}
        for source in (self.manifest.headers, step.headers):
            for name, tpl in source.items():
                value = tpl.text(ctx)
                if any(c in value for c in "\r\n\0"):
                    raise RenderError(_("A header value cannot contain line breaks."))
                headers[name] = value
        kwargs: dict[str, Any] = {"params": params or None, "headers": headers}
        if step.body is not NO_BODY:
            kwargs["json"] = _render_body(step.body, ctx)
        timeout = step.timeout or self.manifest.timeout
        if timeout:
            kwargs["timeout"] = timeout
        return self.client.build_request(step.method, url, **kwargs)

    def step(
        self, step: Step, ctx: dict[str, Any], *, url: str | None = None
    ) -> tuple[Answer, Any]:
        """Run a step: request, `expect`, `extract` into ctx["vars"]. Returns the answer and
        its JSON (None if it had no body)."""
        answer = self.request(step, ctx, url=url)
        needs_json = step.expect.reads_body or step.extract or step.found_if is not None
        doc = answer.json(step) if needs_json else None
        unmet = step.expect.failures(answer.status, doc, ctx)
        if unmet:
            # The wanted values may come from secrets: the message is shown and audited.
            message = self.redact(f"{step.label}: " + "; ".join(unmet))
            self.on_unmet(message)
            raise StepFailed(message, retryable=False, status=answer.status)
        found = (
            None if step.found_if is None else not step.found_if.failures(answer.status, doc, ctx)
        )
        variables = ctx.setdefault("vars", {})
        if found is not False:
            for name, path in step.extract.items():
                variables[name] = path.get(doc)
        if found is False:
            variables["__not_found__"] = True
        return answer, doc

    def flow(self, flow: str, ctx: dict[str, Any]) -> dict[str, Any]:
        """Run a flow's steps in order; returns the values extracted (with `__not_found__`
        when a `found_if` said nobody was found — the flow stops there)."""
        ctx["vars"] = {}
        for step in self.manifest.flows.get(flow, []):
            self.step(step, ctx)
            if ctx["vars"].get("__not_found__"):
                break
        return dict(ctx["vars"])

    def pages(self, spec: PullSpec, ctx: dict[str, Any]) -> Iterator[list[Any]]:
        """The raw items of one pull, page by page, up to the hard cap."""
        pag = spec.paginate
        page, cursor, next_url = pag.start, None, None
        seen_cursors: set[str] = set()
        for _n in range(pag.max_pages):
            page_ctx = {**ctx, "page": page, "cursor": cursor}
            answer, doc = self.step(spec.request, page_ctx, url=next_url)
            if doc is None:
                doc = answer.json(spec.request)
            found, items = spec.items.find(doc)
            if items is None and found:
                items = []
            if not isinstance(items, list):
                raise StepFailed(
                    _("pull.%(kind)s: %(path)s is not a list in the answer.")
                    % {"kind": spec.kind, "path": spec.items.source},
                    retryable=False,
                )
            yield items
            if not items or pag.style == "none":
                return
            if pag.style == "page":
                if pag.more is not None and not _truthy(pag.more.get(doc)):
                    return
                page += 1
            elif pag.style == "cursor":
                assert pag.next is not None
                cursor = pag.next.get(doc)
                if cursor in (None, "") or str(cursor) in seen_cursors:
                    return
                seen_cursors.add(str(cursor))
            else:
                assert pag.next is not None
                link = pag.next.get(doc)
                if not link:
                    return
                next_url = self._same_origin(spec, str(link), answer.url)
        raise StepFailed(
            _(
                "pull.%(kind)s: still more after %(n)d pages (paginate.max_pages); nothing beyond "
                "was read."
            )
            % {"kind": spec.kind, "n": pag.max_pages},
            retryable=False,
        )

    def _same_origin(self, spec: PullSpec, link: str, current: str) -> str:
        """A next link stays on the system's own host: the manifest's headers (with their
        credentials) go with it."""
        target = httpx.URL(current).join(link)
        base = httpx.URL(self.base_url)
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
            raise StepFailed(
                _("pull.%(kind)s: the next link leads to another host (%(host)s); not followed.")
                % {"kind": spec.kind, "host": target.host},
                retryable=False,
            )
        return str(target)


def _render_body(node: Any, ctx: Mapping[str, Any]) -> Any:
    if isinstance(node, Template):
        return node.value(ctx)
    if isinstance(node, dict):
        return {k: _render_body(v, ctx) for k, v in node.items()}
    if isinstance(node, list):
        return [_render_body(v, ctx) for v in node]
    return node


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off", "inactive")
    return bool(value)


def truthy(value: Any) -> bool | None:
    """An extracted flag (`active`) as a bool; None when the answer did not say."""
    return None if value is None else _truthy(value)


def map_record(spec: PullSpec, item: Any) -> dict[str, Any]:
    """One raw item read through the pull's field mapping (values not yet checked)."""
    out: dict[str, Any] = {"kind": spec.kind}
    for name, path in spec.fields.items():
        found, value = path.find(item)
        if found and value is not None:
            out[name] = value
    details = {}
    for name, path in spec.details.items():
        found, value = path.find(item)
        if found:
            details[name] = value
    out["details"] = details
    return out
