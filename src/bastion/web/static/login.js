// Sign-in: post the three factors as JSON, then go where the user was heading.
(function () {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const body = {
      username: form.username.value,
      password: form.password.value,
      totp: form.totp.value || null,
    };
    const response = await fetch("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    if (response.ok) {
      window.location.assign(form.dataset.next || "/console");
      return;
    }
    let detail = "Sign-in failed.";
    try { detail = (await response.json()).detail || detail; } catch (e) { /* keep default */ }
    error.textContent = detail;
    error.hidden = false;
  });
})();
