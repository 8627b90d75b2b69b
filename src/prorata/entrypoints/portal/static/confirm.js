// The bank's 3-D Secure challenge, opened by Stripe.js; its answer is then posted to this page, which asks Stripe.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("confirm-form");
  if (!form || !form.dataset.clientSecret || typeof Stripe === "undefined") return;
  const stripe = Stripe(form.dataset.key);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    form.querySelector("button").disabled = true;
    await stripe.handleNextAction({ clientSecret: form.dataset.clientSecret });
    form.submit();
  });
});
