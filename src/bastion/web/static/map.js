// Site map: pick a door (mouse or keyboard), confirm, and send the command; the map refreshes live.
// The dialog names the lockdowns that hold a door: each has its own "Lift" button, a plain
// unlock is not offered while a lockdown holds the door, and an override needs a reason.
(function () {
  const holder = document.getElementById("map-holder");
  const dialog = document.getElementById("door-dialog");
  if (!holder || !dialog) return;
  const title = document.getElementById("door-title");
  const stateText = document.getElementById("door-state");
  const reason = document.getElementById("door-reason");
  const result = document.getElementById("door-result");
  const held = document.getElementById("door-lockdowns");
  const heldText = document.getElementById("door-held");
  const liftButtons = document.getElementById("lift-buttons");
  const override = document.getElementById("door-override");
  const unlocks = dialog.querySelectorAll('button[data-command="unlock"], button[data-command="momentary_unlock"]');
  const canLockdown = dialog.dataset.canLockdown === "true";
  let current = null;

  async function send(url, payload, question) {
    if (!window.confirm(question)) return;
    const response = await window.bastion.post(url, payload);
    if (response.ok) {
      const said = response.data && response.data.message;
      result.textContent = (said ? said + ". " : "") + "Recorded in the ledger.";
      window.bastion.fire("refresh-map");
      if (current) showLockdowns(current);
    } else if (response.status !== 401) {
      result.textContent = "Refused: " + response.detail;
    }
  }

  function describe(item) {
    const why = item.reason ? " (" + item.reason + ")" : "";
    const since = item.started_at ? " since " + window.bastion.formatTime(item.started_at) : "";
    return "the lockdown of " + item.zone_name + why + since;
  }

  async function showLockdowns(door) {
    held.hidden = true;
    liftButtons.replaceChildren();
    unlocks.forEach((b) => { b.hidden = false; });
    if (override) override.hidden = true;
    let items = [];
    try {
      const response = await fetch(`/api/sites/${door.site}/lockdowns`, { credentials: "same-origin" });
      if (response.ok) items = await response.json();
    } catch (err) { return; }
    const holding = items.filter((item) => item.doors.includes(door.door));
    if (!holding.length) return;
    held.hidden = false;
    heldText.textContent = "Held by " + holding.map(describe).join(" and ") +
      ". Lockdown wins over unlock" + (override ? "; an override needs a reason." : ".");
    unlocks.forEach((b) => { b.hidden = true; });
    if (override) override.hidden = false;
    if (!canLockdown) return;
    holding.forEach((item) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "control";
      button.dataset.lift = item.zone_id;
      button.textContent = "Lift lockdown of " + item.zone_name;
      button.addEventListener("click", () => send(
        `/api/sites/${door.site}/zones/${item.zone_id}/lockdown`,
        { active: false, reason: reason ? reason.value : "" },
        `Lift the lockdown of ${item.zone_name}? It holds ${item.doors.length} doors.`,
      ));
      liftButtons.appendChild(button);
    });
  }

  function openDoor(g) {
    const svg = document.getElementById("site-map");
    current = { site: svg.dataset.site, door: g.dataset.door, zone: g.dataset.zone, name: g.dataset.name };
    title.textContent = current.name;
    stateText.textContent = "State: " + g.dataset.state + " · zone " + current.zone +
      (g.dataset.note ? " · " + g.dataset.note : "");
    // The server renders only the buttons the role may use; there is nothing else to press.
    result.textContent = "";
    if (reason) reason.value = "";
    showLockdowns(current);
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

  dialog.querySelectorAll("button[data-command]").forEach((button) => {
    button.addEventListener("click", () => send(
      `/api/sites/${current.site}/doors/${current.door}/commands`,
      { command: button.dataset.command, reason: reason ? reason.value : "" },
      `${button.textContent} ${current.name}?`,
    ));
  });
  if (override) {
    override.addEventListener("click", () => {
      if (!reason || !reason.value.trim()) {
        result.textContent = "Give a reason for the override: it is kept in the ledger.";
        if (reason) reason.focus();
        return;
      }
      send(
        `/api/sites/${current.site}/doors/${current.door}/commands`,
        { command: "unlock", reason: reason.value, override_lockdown: true },
        `Unlock ${current.name} despite the lockdown? Your reason is recorded in the ledger.`,
      );
    });
  }
  dialog.querySelectorAll("button[data-lockdown]").forEach((button) => {
    button.addEventListener("click", () => send(
      `/api/sites/${current.site}/zones/${current.zone}/lockdown`,
      { active: true, reason: reason ? reason.value : "" },
      `Lock down zone ${current.zone} and its adjacent zones?`,
    ));
  });
})();
