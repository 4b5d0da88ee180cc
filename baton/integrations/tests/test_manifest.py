"""The REST connector's manifest: every problem is named with its place, templates are only
context look-ups (never code, never read twice), JSON paths, and the example manifests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from baton.integrations import manifest as mf

MANIFESTS = Path(mf.__file__).parent / "manifests"

MINIMAL: dict[str, Any] = {
    "headers": {"Authorization": "Bearer {{ secrets.api_token }}"},
    "steps": {
        "find": [
            {
                "path": "/users",
                "query": {"email": "{{ employee.email }}"},
                "extract": {"id": "$.items[0].id"},
            }
        ],
        "revoke": [{"method": "POST", "path": "/users/{{ account.id }}/deactivate"}],
    },
}


def _errors(data: Any, **kw: Any) -> dict[str, str]:
    with pytest.raises(mf.ManifestError) as exc:
        mf.load(data, **kw)
    return dict(exc.value.errors)


def _with(path: str, value: Any) -> dict[str, Any]:
    """MINIMAL with one value set at a dotted path (list indexes as numbers)."""
    data = yaml.safe_load(yaml.safe_dump(MINIMAL))
    node: Any = data
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return data


@pytest.mark.parametrize("name", ["oa", "crm", "erp", "finance"])
def test_example_manifests_are_valid(name: str) -> None:
    m = mf.load((MANIFESTS / f"{name}.yaml").read_text(), secret_names={"api_token"})
    assert m.flows or m.pulls


def test_the_documented_example_is_valid() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "integrations-manifest.md").read_text()
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    m = mf.load(example, secret_names={"api_token"})
    assert set(m.flows) == set(mf.FLOWS) and set(m.pulls) == {"customer", "order"}


def test_minimal_manifest_from_json_text() -> None:
    import json

    m = mf.load(json.dumps(MINIMAL))
    assert [s.label for s in m.flows["revoke"]] == ["revoke"]
    assert m.uses["revoke"] == {"account"}


@pytest.mark.parametrize(
    ("data", "where", "words"),
    [
        ({**MINIMAL, "stepz": {}}, "stepz", "Unknown key"),
        (_with("version", 2), "version", "Only version 1"),
        (
            _with("steps.revoke.0.expect", {"status": ["ok"]}),
            "steps.revoke[0].expect.status",
            "100–599",
        ),
        (
            _with("steps.revoke.0.expect", {"stat": 200}),
            "steps.revoke[0].expect.stat",
            "Unknown key",
        ),
        (_with("steps.revoke.0.method", "BREW"), "steps.revoke[0].method", "One of"),
        (_with("steps.revoke.0.path", "users/x"), "steps.revoke[0].path", "single /"),
        (_with("steps.revoke.0.path", "//evil.example/x"), "steps.revoke[0].path", "single /"),
        (
            _with("steps.revoke.0.path", "/users/{{ account.id | upper }}"),
            "steps.revoke[0].path",
            "nothing else",
        ),
        (
            _with("steps.revoke.0.path", "/users/{{ account.id.__class__ }}"),
            "steps.revoke[0].path",
            "exactly one field",
        ),
        (
            _with("steps.revoke.0.path", "/users/{{ account.id"),
            "steps.revoke[0].path",
            "Unbalanced",
        ),
        (
            _with("steps.find.0.query.email", "{{ employee.mail }}"),
            "steps.find[0].query.email",
            "employee has: email",
        ),
        (
            _with("steps.find.0.query.email", "{{ account.id }}"),
            "steps.find[0].query.email",
            "not available here",
        ),
        (
            _with("steps.revoke.0.path", "/x/{{ __import__ }}"),
            "steps.revoke[0].path",
            "not available here",
        ),
        (
            _with("headers.Authorization", "Bearer sk_live_abcdef123456"),
            "headers.Authorization",
            "secret written into the manifest",
        ),
        (
            _with("steps.find.0.query.api_key", "abcdef123456"),
            "steps.find[0].query.api_key",
            "secret written into the manifest",
        ),
        (_with("steps.revoke.0.url", "https://x.example/a"), "steps.revoke[0]", "not both"),
        (_with("steps.find.0.extract", {"user": "$.id"}), "steps.find", "account's id"),
        (_with("steps.find.0.extract", {"id": "items[0].id"}), "steps.find[0].extract.id", "$"),
        (_with("steps.find.0.extract", {"id": "$.items[x]"}), "steps.find[0].extract.id", "[0]"),
        (
            _with("steps.revoke.0.found_if", {"not_empty": "$.x"}),
            "steps.revoke[0].found_if",
            "Only steps of the find flow",
        ),
        (
            _with("steps.revoke.0.json", {"id": "{{ vars.user }}"}),
            "steps.revoke[0].json.id",
            "no earlier step",
        ),
        (_with("steps.revoke", []), "steps.revoke", "list of steps"),
        (_with("steps.revoke.0.timeout", 600), "steps.revoke[0].timeout", "1 to 60"),
    ],
)
def test_each_problem_is_named_where_it_is(data: Any, where: str, words: str) -> None:
    errors = _errors(data)
    assert where in errors, errors
    assert words in errors[where], errors[where]


def test_revoke_needs_find_and_pulls_need_fields() -> None:
    errors = _errors(
        {
            "steps": {"revoke": [{"method": "POST", "path": "/u/{{ employee.login }}"}]},
            "pull": {
                "customer": {
                    "request": {"path": "/customers", "query": {"owner": "{{ employee.login }}"}},
                    "paginate": {"style": "page", "max_pages": 5000},
                    "fields": {"name": "$.name", "colour": "$.c"},
                },
                "order": {
                    "request": {"path": "/orders"},
                    "paginate": {"style": "cursor"},
                    "fields": {"external_id": "$.id", "name": "$.n"},
                },
                "pets": {},
            },
        }
    )
    assert "needs a find flow" in errors["steps.revoke"]
    assert "Required" in errors["pull.customer.fields.external_id"]
    assert "Unknown key" in errors["pull.customer.fields.colour"]
    assert "{{ page }}" in errors["pull.customer.paginate.style"]
    assert "1 to 1000" in errors["pull.customer.paginate.max_pages"]
    assert "Required" in errors["pull.order.paginate.next"]
    assert "Unknown key" in errors["pull.pets"]


def test_secret_names_are_checked_against_the_system() -> None:
    errors = _errors(MINIMAL, secret_names={"token"})
    assert "no secret named “api_token”" in errors["headers.Authorization"]


def test_text_that_is_not_a_manifest() -> None:
    errors = _errors("steps: [unclosed")
    assert "neither JSON nor YAML" in errors[""] and "line 1" in errors[""]
    assert "mapping" in _errors("- a list")[""]
    assert "would do nothing" in _errors({"version": 1})[""]


# ---------------------------------------------------------------- templates


CTX = {
    "employee": {"name": 'O\'Brien "{{ secrets.api_token }}"', "login": "a/../b", "id": 7},
    "secrets": {"api_token": "s3cret-token"},
    "vars": {"flag": False, "nothing": None},
}


def test_values_are_inserted_once_never_read_as_templates() -> None:
    tpl = mf.compile_template("Hello {{ employee.name }}!")
    assert tpl.text(CTX) == 'Hello O\'Brien "{{ secrets.api_token }}"!'
    assert "s3cret" not in tpl.text(CTX)


def test_path_values_stay_in_their_segment() -> None:
    tpl = mf.compile_template("/users/{{ employee.login }}/x")
    assert tpl.text(CTX, mf.path_escape) == "/users/a%2F..%2Fb/x"
    assert mf.path_escape("..") == "%2E%2E" and mf.path_escape(".") == "%2E"
    assert mf.path_escape("a?b#c d") == "a%3Fb%23c%20d"


@given(st.text())
def test_any_value_stays_one_segment_and_one_string(value: str) -> None:
    import json
    from urllib.parse import unquote

    ctx = {"employee": {"name": value}}
    path = mf.compile_template("/u/{{ employee.name }}/x").text(ctx, mf.path_escape)
    segment = path.removeprefix("/u/").removesuffix("/x")
    assert "/" not in segment and "?" not in segment and "#" not in segment
    assert segment not in (".", "..") and unquote(segment) == value
    body = mf.compile_template("{{ employee.name }}").value(ctx)
    assert json.loads(json.dumps({"to": body})) == {"to": value}


def test_whole_references_keep_their_type() -> None:
    assert mf.compile_template("{{ vars.flag }}").value(CTX) is False
    assert mf.compile_template("{{ employee.id }}").value(CTX) == 7
    assert mf.compile_template("n={{ employee.id }}").value(CTX) == "n=7"
    assert mf.compile_template("{{ vars.nothing }}").value(CTX) is None


def test_only_the_dicts_given_are_looked_into() -> None:
    for source in ("{{ employee.__class__ }}", "{{ secrets.missing }}", "{{ case.id }}"):
        with pytest.raises(mf.RenderError):
            mf.compile_template(source).text(CTX)
    with pytest.raises(mf.RenderError, match="group of values"):
        mf.compile_template("{{ employee }}").text(CTX)
    with pytest.raises(mf.RenderError, match="has no value"):
        mf.compile_template("x {{ vars.nothing }}").text(CTX)
    for bad in ("{{ 1 + 1 }}", "{{ employee['name'] }}", "{{ f() }}", "{% if %}{{ x }}{{"):
        with pytest.raises(ValueError):
            mf.compile_template(bad)


# ---------------------------------------------------------------- JSON paths


def test_json_paths() -> None:
    doc = {"items": [{"id": "u-1", "tags": ["a", "b"]}], "display name": {"x": 1}, "n": None}
    assert mf.compile_path("$.items[0].id").get(doc) == "u-1"
    assert mf.compile_path("$.items[0].tags[-1]").get(doc) == "b"
    assert mf.compile_path('$["display name"].x').get(doc) == 1
    assert mf.compile_path("$['display name']").get(doc) == {"x": 1}
    assert mf.compile_path("$.items[5].id").find(doc) == (False, None)
    assert mf.compile_path("$.n").find(doc) == (True, None)
    assert mf.compile_path("$").get(doc) is doc
    for bad in ("items", "$.", "$..x", "$.a[*]", "$.a b"):
        with pytest.raises(ValueError):
            mf.compile_path(bad)


def test_conditions_explain_what_failed() -> None:
    m = mf.load(
        _with(
            "steps.revoke.0.expect",
            {
                "status": [200],
                "equals": {"$.active": False, "$.owner": "{{ employee.login }}"},
                "not_empty": "$.items",
            },
        )
    )
    cond = m.flows["revoke"][0].expect
    ctx = {"employee": {"login": "li"}}
    assert cond.failures(200, {"active": False, "owner": "li", "items": [1]}, ctx) == []
    failures = cond.failures(202, {"active": True, "owner": "wang", "items": []}, ctx)
    assert failures == [
        "status 202, expected 200",
        "expected $.active = false, got true",
        'expected $.owner = "li", got "wang"',
        "$.items is empty",
    ]


def test_clean_config_for_the_systems_form() -> None:
    from baton.core.errors import InvalidInput

    assert mf.clean_config(yaml.safe_dump(MINIMAL)) == MINIMAL
    with pytest.raises(InvalidInput) as exc:
        mf.clean_config(_with("steps.revoke.0.expect", {"status": "x"}), secret_names=set())
    assert set(exc.value.field_errors) == {
        "config.steps.revoke[0].expect.status",
        "config.headers.Authorization",
    }
