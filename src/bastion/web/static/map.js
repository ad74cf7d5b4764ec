// Site map: pick a door (mouse or keyboard), confirm, and send the command; the map refreshes live.
(function () {
  const holder = document.getElementById("map-holder");
  const dialog = document.getElementById("door-dialog");
  if (!holder || !dialog) return;
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
    // The server renders only the buttons the role may use; there is nothing else to press.
    result.textContent = "";
    if (reason) reason.value = "";
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

  async function send(url, payload, question) {
    if (!window.confirm(question)) return;
    const response = await window.bastion.post(url, payload);
    if (response.ok) {
      result.textContent = "Sent and recorded in the ledger.";
      window.bastion.fire("refresh-map");
    } else if (response.status !== 401) {
      result.textContent = "Refused: " + response.detail;
    }
  }

  dialog.querySelectorAll("button[data-command]").forEach((button) => {
    button.addEventListener("click", () => send(
      `/api/sites/${current.site}/doors/${current.door}/commands`,
      { command: button.dataset.command, reason: reason ? reason.value : "" },
      `${button.textContent} ${current.name}?`,
    ));
  });
  dialog.querySelectorAll("button[data-lockdown]").forEach((button) => {
    const active = button.dataset.lockdown === "true";
    button.addEventListener("click", () => send(
      `/api/sites/${current.site}/zones/${current.zone}/lockdown`,
      { active: active, reason: reason ? reason.value : "" },
      `${active ? "Lock down" : "Lift the lockdown of"} zone ${current.zone} and its adjacent zones?`,
    ));
  });
})();
