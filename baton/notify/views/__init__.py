"""The notification centre, the user's channel choices, and the notification settings (channels,
reminder rules, the delivery log). Views are thin: parse with a form, check with `authz`, call
`baton.notify.actions`, show the result or the action's refusal in place."""
