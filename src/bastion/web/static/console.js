// Live feed: prepend each committed security event as it arrives over SSE.
(function () {
  const feed = document.getElementById("feed");
  const status = document.getElementById("feed-status");
  const source = new EventSource("/api/events/stream");
  source.addEventListener("hello", () => { status.textContent = "live"; status.classList.add("ok"); });
  source.onerror = () => { status.textContent = "reconnecting…"; status.classList.remove("ok"); };
  source.addEventListener("security", (message) => {
    const e = JSON.parse(message.data);
    const li = document.createElement("li");
    li.className = "ev ev-" + e.type.replace(/\./g, "-") + " fresh";
    const time = document.createElement("time");
    time.textContent = new Date(e.time).toLocaleTimeString();
    const type = document.createElement("b");
    type.textContent = " " + e.type + " ";
    const device = document.createElement("span");
    device.textContent = (e.device || "") + " ";
    const detail = document.createElement("span");
    detail.className = "muted";
    detail.textContent = e.payload.reason || e.payload.message || e.payload.state || e.actor;
    li.append(time, type, device, detail);
    feed.prepend(li);
    while (feed.children.length > 200) feed.lastChild.remove();
  });
  const signOut = document.getElementById("sign-out");
  if (signOut) {
    signOut.addEventListener("click", async () => {
      await fetch("/api/auth/logout", {
        method: "POST",
        headers: { "X-CSRF-Token": signOut.dataset.csrf },
        credentials: "same-origin",
      });
      window.location.assign("/login");
    });
  }
})();
