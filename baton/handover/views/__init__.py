"""The handover app's UI, one module per sub-resource: my work (`my_tasks`), opening a case
(`open_case`), the case page (`cases`), the task page and the public confirmation page
(`tasks`, `confirm`), checklists (`admin`), the knowledge map (`knowledge`) and the progress board
(`board`). Helpers they share are public in `common`."""
