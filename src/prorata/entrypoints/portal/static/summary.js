// The order summary's live preview (rule C6): a count changed in the cart section is saved as the form's own button
// would save it, and the summary, priced again by the server with a new order key, replaces the figures in place.
// Place order waits until the figures on screen are the ones it would place; without JavaScript the button does it.
(function () {
  "use strict";
  var delay = 400;
  var timer = null;
  var place = function () { return document.getElementById("place-order"); };

  function swap(fresh, id) {
    var now = document.getElementById(id);
    var next = fresh.getElementById(id);
    if (now && next) { now.replaceWith(next); }
  }

  function refresh(form) {
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (answer) { return answer.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        if (!fresh.getElementById("summary")) { form.submit(); return; } // not the summary: let the page answer
        document.querySelectorAll(".item-text, #review-changes p.error").forEach(function (node) { swap(fresh, node.id); });
        swap(fresh, "summary");
        swap(fresh, "discount"); // a discount code the new count no longer allows is said there (rule DC1)
        var button = place();
        if (button) { button.disabled = false; }
      })
      .catch(function () { form.submit(); });
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.hasAttribute("data-live")) { return; }
    var button = place();
    if (button) { button.disabled = true; }
    clearTimeout(timer);
    timer = setTimeout(function () {
      if (input.checkValidity()) { refresh(input.form); }
      else { input.reportValidity(); }
    }, delay);
  });
}());
