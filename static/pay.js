// The deposit card form: Stripe.js turns the card into a payment method id (card details never
// reach the portal); the portal then charges it server-side and credits the deposit only from
// what Stripe answers, or from Stripe's signed webhook.
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
    stripe.createPaymentMethod({ type: "card", card: card }).then(function (result) {
      if (result.error) {
        document.getElementById("card-errors").textContent = result.error.message;
        return;
      }
      document.getElementById("payment-method").value = result.paymentMethod.id;
      ready = true;
      form.submit();
    });
  });
});
