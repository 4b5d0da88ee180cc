// The public confirmation link carries its one-time token after "#": browsers never send the
// fragment to the server, so the token is in no access log. Post it in the form body instead,
// and drop it from the address bar and history first.
(function () {
  "use strict";
  var form = document.getElementById("confirm-link-form");
  var token = decodeURIComponent(window.location.hash.replace(/^#/, ""));
  if (!form || !token) {
    return;
  }
  form.elements.token.value = token;
  window.history.replaceState(null, "", window.location.pathname);
  form.submit();
})();
