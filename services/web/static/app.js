// Shian web: the one script of our own. No inline script anywhere (the CSP forbids it).
// htmx requests carry the CSRF token of the page in a header; forms carry it in a hidden field.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  document.addEventListener("htmx:configRequest", function (event) {
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.getAttribute("content"); }
  });
  // a button that submits once: a second tap on a slow network must not report twice
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.submitted === "1") { event.preventDefault(); return; }
    form.dataset.submitted = "1";
    var buttons = form.querySelectorAll("button[type=submit]");
    for (var i = 0; i < buttons.length; i++) { buttons[i].setAttribute("aria-disabled", "true"); }
  });
  window.addEventListener("pageshow", function () {
    var forms = document.querySelectorAll("form[data-submitted]");
    for (var i = 0; i < forms.length; i++) { delete forms[i].dataset.submitted; }
  });
})();
