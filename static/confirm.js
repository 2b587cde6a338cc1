// Confirmation before deleting, withdrawing or refusing (issue 9 §4); a static file because the
// CSP allows no inline script. A plain form (or its button) with data-confirm="question" asks in a <dialog>
// before it is sent; an htmx element with hx-confirm asks in the same dialog. The buttons say
// data-confirm-yes / data-confirm-no (translated by the page). Without JavaScript the form is
// simply sent, as before.
(function () {
  "use strict";

  function ask(question, source, proceed) {
    var dialog = document.createElement("dialog");
    dialog.className = "confirm";
    dialog.id = "confirm-dialog";
    var text = document.createElement("p");
    text.textContent = question;
    var yes = document.createElement("button");
    yes.type = "button";
    yes.className = "primary";
    yes.id = "confirm-yes";
    yes.textContent = source.getAttribute("data-confirm-yes") || "OK";
    var no = document.createElement("button");
    no.type = "button";
    no.id = "confirm-no";
    no.textContent = source.getAttribute("data-confirm-no") || "Cancel";
    var buttons = document.createElement("p");
    buttons.className = "confirm-buttons";
    buttons.append(yes, " ", no);
    dialog.append(text, buttons);
    function finish(go) {
      dialog.close();
      dialog.remove();
      if (go) { proceed(); }
    }
    yes.addEventListener("click", function () { finish(true); });
    no.addEventListener("click", function () { finish(false); });
    dialog.addEventListener("cancel", function (event) { event.preventDefault(); finish(false); });
    document.body.appendChild(dialog);
    dialog.showModal();
    no.focus();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.hasAttribute("hx-post")) { return; }
    var submitter = event.submitter || null;
    // the question sits on the form, or on one of its buttons (approve / refuse side by side)
    var source = submitter && submitter.hasAttribute("data-confirm") ? submitter : form;
    var question = source.getAttribute("data-confirm");
    if (!question) { return; }
    if (form.dataset.confirmed === "yes") {
      delete form.dataset.confirmed;
      return;
    }
    event.preventDefault();
    ask(question, source, function () {
      form.dataset.confirmed = "yes";
      if (submitter) { form.requestSubmit(submitter); } else { form.requestSubmit(); }
    });
  }, true);

  document.addEventListener("htmx:confirm", function (event) {
    var question = event.detail.question;
    if (!question) { return; }
    event.preventDefault();
    ask(question, event.detail.elt, function () { event.detail.issueRequest(true); });
  });
})();
