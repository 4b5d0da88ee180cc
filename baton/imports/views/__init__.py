"""Data migration pages: the batches and the upload form, the mapping step (which column of the
file is which of ours), a batch's report with its progress, commit and changes, the report
workbook, and the exports. Thin views over `actions`, `exports`, `report` and the tasks."""
