// Dashboard: prepend each committed security event to the feed; acknowledge from the queue.
(function () {
  const feed = document.getElementById("feed");
  if (feed) {
    document.body.addEventListener("bastion:event", (message) => {
      const e = message.detail;
      const li = document.createElement("li");
      li.className = "ev ev-" + e.type.replace(/\./g, "-") + " fresh";
      const time = document.createElement("time");
      time.dateTime = e.time;
      time.textContent = window.bastion.formatTime(e.time);
      const type = document.createElement("b");
      type.textContent = " " + e.type + " ";
      const device = document.createElement("span");
      device.textContent = (e.device || "") + " ";
      const detail = document.createElement("span");
      detail.className = "muted";
      detail.textContent = e.payload.message || e.payload.reason || e.payload.state || e.actor;
      li.append(time, type, device, detail);
      feed.prepend(li);
      while (feed.children.length > 200) feed.lastChild.remove();
    });
  }
  const queue = document.getElementById("alarm-queue");
  if (queue) {
    queue.addEventListener("click", async (e) => {
      const button = e.target.closest("button[data-ack]");
      if (!button) return;
      button.disabled = true;
      const result = await window.bastion.post(`/api/alarms/${button.dataset.ack}/acknowledge`, {});
      if (!result.ok) { button.disabled = false; button.title = "Refused: " + result.detail; }
      window.bastion.fire("refresh-alarms");
    });
  }
})();
