"""Every state change of integrations, one module per aggregate: webhook subscriptions
(`webhooks`), connected systems (`systems`) and their tokens (`system_tokens`), access
revocations (`revocations`), business-data pulls and pushes (`business`), customer hand-over
(`customers`) and customer letters (`letters`)."""
