// The payment service's own fields (Stripe's Payment Element): the card, PayPal or another method is typed there and
// saved at the service; this page's form then carries only the id of the SetupIntent that saved it.
document.addEventListener("DOMContentLoaded", () => {
  const mount = document.getElementById("payment-element");
  if (!mount || typeof Stripe === "undefined") return;
  const form = mount.closest("form");
  const chosen = form.querySelector("#method-gateway");
  const failure = document.getElementById("gateway-error");
  const stripe = Stripe(mount.dataset.key);
  const elements = stripe.elements({ clientSecret: mount.dataset.secret, locale: document.documentElement.lang });
  elements.create("payment").mount("#payment-element");
  form.addEventListener("submit", async (event) => {
    if (!chosen || !chosen.checked) return; // keeping the current method needs no gateway
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const { error, setupIntent } = await stripe.confirmSetup({
      elements, redirect: "if_required", confirmParams: { return_url: mount.dataset.return },
    });
    if (error) {
      failure.textContent = error.message;
      failure.hidden = false;
      button.disabled = false;
      return;
    }
    document.getElementById("setup-intent").value = setupIntent.id;
    form.submit();
  });
});
