// Alarm page: acknowledge, answer or skip procedure steps, resolve or dismiss — each through the
// alarms API — then refresh the page body and put the focus on the next thing to do.
(function () {
  const holder = document.getElementById("alarm-body");
  if (!holder) return;
  const alarmId = holder.dataset.alarmId;
  const api = "/api/alarms/" + alarmId;

  function value(id) {
    const input = document.getElementById(id);
    return input ? input.value.trim() : "";
  }

  function say(text) {
    const result = document.getElementById("alarm-result");
    if (result) result.textContent = text;
  }

  const actions = {
    acknowledge: () => [api + "/acknowledge", {}],
    investigate: () => ["/console/alarms/" + alarmId + "/investigate", {}],
    answer: (b) => [api + "/steps/" + b.dataset.step,
      { answer: b.dataset.answer || value("note-" + b.dataset.step) }],
    skip: (b) => {
      const reason = value("skip-" + b.dataset.step);
      if (!reason) { say("A skipped step needs a reason."); return null; }
      return [api + "/steps/" + b.dataset.step + "/skip", { reason: reason }];
    },
    resolve: () => [api + "/resolve", { note: value("resolve-note") }],
    "false-alarm": () => {
      const reason = value("false-reason");
      if (!reason) { say("A false alarm needs a reason."); return null; }
      if (!window.confirm("Close this alarm as a false alarm?")) return null;
      return [api + "/false-alarm", { note: reason }];
    },
  };

  holder.addEventListener("click", async (e) => {
    const button = e.target.closest("button[data-action]");
    if (!button || button.disabled) return;
    const request = actions[button.dataset.action] && actions[button.dataset.action](button);
    if (!request) return;
    button.disabled = true;
    const response = await window.bastion.post(request[0], request[1]);
    if (response.ok) {
      window.bastion.fire("refresh-alarm");
    } else {
      button.disabled = false;
      if (response.status !== 401) say("Refused: " + response.detail);
    }
  });

  holder.addEventListener("htmx:afterSwap", () => {
    const next = holder.querySelector("[data-autofocus]");
    if (next) next.focus();
  });
})();
