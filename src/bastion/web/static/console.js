// Dashboard feed: prepend each committed security event as it arrives.
(function () {
  const feed = document.getElementById("feed");
  document.body.addEventListener("bastion:event", (message) => {
    const e = message.detail;
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
})();
