// Site map: pick a door (mouse or keyboard), confirm, and send the command; the map refreshes live.
(function () {
  const holder = document.getElementById("map-holder");
  const dialog = document.getElementById("door-dialog");
  const title = document.getElementById("door-title");
  const stateText = document.getElementById("door-state");
  const reason = document.getElementById("door-reason");
  const result = document.getElementById("door-result");
  let current = null;

  function openDoor(g) {
    const svg = document.getElementById("site-map");
    current = { site: svg.dataset.site, door: g.dataset.door, zone: g.dataset.zone, name: g.dataset.name };
    title.textContent = current.name;
    stateText.textContent = "State: " + g.dataset.state + " · zone " + current.zone;
    const canControl = svg.dataset.canControl === "true";
    const canLockdown = svg.dataset.canLockdown === "true";
    dialog.querySelectorAll(".needs-control").forEach((b) => { b.hidden = !canControl; });
    dialog.querySelectorAll(".needs-lockdown").forEach((b) => { b.hidden = !canLockdown; });
    document.getElementById("door-readonly").hidden = canControl || canLockdown;
    result.textContent = "";
    reason.value = "";
    dialog.showModal();
  }

  holder.addEventListener("click", (e) => {
    const g = e.target.closest("g.door");
    if (g) openDoor(g);
  });
  holder.addEventListener("keydown", (e) => {
    const g = e.target.closest("g.door");
    if (g && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); openDoor(g); }
  });

  async function send(url, body, question) {
    if (!window.confirm(question)) return;
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": window.bastionCsrf },
      body: JSON.stringify(body),
    });
    if (response.ok) {
      result.textContent = "Sent and recorded in the ledger.";
      document.body.dispatchEvent(new Event("refresh-map"));
    } else {
      let detail = response.statusText;
      try { detail = (await response.json()).detail || detail; } catch (err) { /* keep */ }
      result.textContent = "Refused: " + detail;
    }
  }

  dialog.querySelectorAll("button[data-command]").forEach((button) => {
    button.addEventListener("click", () => send(
      `/api/sites/${current.site}/doors/${current.door}/commands`,
      { command: button.dataset.command, reason: reason.value },
      `${button.textContent} ${current.name}?`,
    ));
  });
  dialog.querySelectorAll("button[data-lockdown]").forEach((button) => {
    const active = button.dataset.lockdown === "true";
    button.addEventListener("click", () => send(
      `/api/sites/${current.site}/zones/${current.zone}/lockdown`,
      { active: active, reason: reason.value },
      `${active ? "Lock down" : "Lift the lockdown of"} zone ${current.zone} and its adjacent zones?`,
    ));
  });
})();
