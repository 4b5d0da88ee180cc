"""What the tree breaks of test_architecture.py today: a ratchet, regenerated with
`python -m baton.core.tests.test_architecture` only after debt was paid off (never to
let a new offender in). Issue 14 empties these."""

PRIVATE_IMPORTS: list[str] = []
CYCLES: list[list[str]] = []
ORM_WRITES: dict[str, int] = {
    "baton.access.api": 2,
    "baton.access.api_auth": 1,
    "baton.audit.export": 1,
    "baton.audit.trail": 4,
    "baton.compliance.alerts": 1,
    "baton.compliance.views_settlement": 1,
    "baton.core.schedule": 2,
    "baton.core.sealed": 1,
    "baton.handover.report": 1,
    "baton.imports.exports": 1,
    "baton.imports.report": 1,
    "baton.integrations.api.systems": 1,
    "baton.integrations.calls": 2,
    "baton.integrations.connectors.scim": 1,
    "baton.integrations.outbox": 2,
    "baton.integrations.webhooks": 4,
    "baton.notify.api.rules": 1,
    "baton.notify.delivery": 3,
    "baton.org.idcard": 2,
}
LONG_UI_MODULES: dict[str, int] = {
    "baton.compliance.api_interviews": 499,
    "baton.compliance.views_interviews": 495,
    "baton.compliance.views_settlement": 471,
}
LONG_FUNCTIONS: dict[str, int] = {
    "baton.compliance.actions_certificates.issue_certificate": 102,
    "baton.compliance.actions_interviews.complete_interview": 101,
    "baton.compliance.actions_settlement.decide_non_compete": 95,
    "baton.compliance.actions_terms.record_terms": 91,
    "baton.compliance.interview_bank.default_questions": 97,
    "baton.imports.actions.upload": 89,
    "baton.imports.engine._flush": 132,
    "baton.imports.kinds.org.finish": 83,
    "baton.imports.kinds.people._set_managers": 81,
    "baton.imports.kinds.people.build": 132,
    "baton.imports.mapping.compile_mapping": 97,
    "baton.integrations.actions.customers._apply": 87,
    "baton.integrations.actions.customers.reassign_customers": 117,
    "baton.integrations.actions.letters._send_chunk": 81,
    "baton.integrations.actions.revocations.plan": 88,
    "baton.integrations.manifest.step": 88,
    "baton.notify.delivery._send_group": 83,
}
