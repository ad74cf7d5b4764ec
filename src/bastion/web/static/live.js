// Shared by every console page: one SSE connection, re-broadcast as DOM events, and sign-out.
(function () {
  const status = document.getElementById("feed-status");
  const source = new EventSource("/api/events/stream");
  source.addEventListener("hello", () => {
    if (status) { status.textContent = "live"; status.classList.add("ok"); }
  });
  source.onerror = () => {
    if (status) { status.textContent = "reconnecting…"; status.classList.remove("ok"); }
  };
  source.addEventListener("security", (message) => {
    const event = JSON.parse(message.data);
    document.body.dispatchEvent(new CustomEvent("bastion:event", { detail: event }));
    if (/^(door\.|site\.lockdown|device\.health)/.test(event.type)) {
      document.body.dispatchEvent(new Event("refresh-map"));
    }
  });
  window.bastionCsrf = document.getElementById("live-script").dataset.csrf;
  const signOut = document.getElementById("sign-out");
  if (signOut) {
    signOut.addEventListener("click", async () => {
      await fetch("/api/auth/logout", {
        method: "POST", headers: { "X-CSRF-Token": window.bastionCsrf }, credentials: "same-origin",
      });
      window.location.assign("/login");
    });
  }
})();
