// The deposit card form: Stripe.js collects the card into a SetupIntent (card details never
// reach the portal) and hands back a payment method id; the portal then charges it server-side
// and credits the deposit only from what Stripe answers, or from Stripe's signed webhook.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("payment-form");
  if (!form || typeof Stripe === "undefined") { return; }
  var stripe = Stripe(form.dataset.key);
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  var ready = false;
  form.addEventListener("submit", function (event) {
    if (ready) { return; }
    event.preventDefault();
    stripe.confirmCardSetup(form.dataset.secret, { payment_method: { card: card } })
      .then(function (result) {
        if (result.error) {
          document.getElementById("card-errors").textContent = result.error.message || "error";
          return;
        }
        document.getElementById("payment-method").value = result.setupIntent.payment_method;
        ready = true;
        form.submit();
      });
  });
});
