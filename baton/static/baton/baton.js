// Baton's only script: small progressive enhancements. No inline scripts (strict CSP).
document.addEventListener("DOMContentLoaded", () => {
  // Auto-submit filter forms when a select changes (search inputs use hx-trigger instead).
  document.querySelectorAll("form[data-autosubmit] select").forEach((el) => {
    el.addEventListener("change", () => el.form.requestSubmit());
  });
});
