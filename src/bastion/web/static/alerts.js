// Alarm alerts and the standing-state banner, on every console page.
// New P1/P2 alarms on the live feed ring and show a desktop notification, but only after the
// operator turned alerts on with the button (the browser asks its permission then, never
// before). The lockdown / threat-level banner is refreshed when those states change.
(function () {
  const body = document.body;
  const KEY = "bastion.alarmAlerts";
  let audio = null;

  function enabled() { return window.localStorage.getItem(KEY) === "on"; }

  function label(button) {
    const on = enabled();
    button.textContent = on ? "Alarm alerts on" : "Turn on alarm alerts";
    button.setAttribute("aria-pressed", String(on));
    button.title = on
      ? "P1 and P2 alarms ring and show a desktop notification. Click to turn off."
      : "Ring and show a desktop notification for new P1 and P2 alarms.";
  }

  function beep() {
    if (!audio) return;
    const now = audio.currentTime;
    [0, 0.35].forEach((offset) => {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.type = "square";
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, now + offset);
      gain.gain.exponentialRampToValueAtTime(0.001, now + offset + 0.3);
      tone.connect(gain).connect(audio.destination);
      tone.start(now + offset);
      tone.stop(now + offset + 0.3);
    });
  }

  function notify(event) {
    const payload = event.payload || {};
    const title = "P" + payload.priority + " alarm";
    if ("Notification" in window && Notification.permission === "granted") {
      const note = new Notification(title, { body: payload.message || payload.alarm_type, tag: event.id });
      note.onclick = () => { window.focus(); window.location.assign("/console/alarms?priority=" + payload.priority); };
    }
    beep();
  }

  const topbar = document.querySelector(".topbar");
  if (topbar) {
    const button = document.createElement("button");
    button.type = "button";
    button.id = "alarm-alerts";
    button.className = "secondary notify-toggle";
    label(button);
    button.addEventListener("click", async () => {
      if (enabled()) {
        window.localStorage.setItem(KEY, "off");
      } else {
        if ("Notification" in window && Notification.permission === "default") {
          try { await Notification.requestPermission(); } catch (err) { /* sound only */ }
        }
        window.localStorage.setItem(KEY, "on");
      }
      if (enabled() && !audio && window.AudioContext) audio = new AudioContext();
      label(button);
    });
    const signOut = document.getElementById("sign-out");
    if (signOut && signOut.parentNode) signOut.parentNode.insertBefore(button, signOut);
    else topbar.appendChild(button);
  }
  // A page opened with alerts on can only play sound after a gesture: resume on the first one.
  window.addEventListener("pointerdown", () => {
    if (enabled() && !audio && window.AudioContext) audio = new AudioContext();
    if (audio && audio.state === "suspended") audio.resume();
  }, { once: true });

  body.addEventListener("bastion:event", (e) => {
    const event = e.detail || {};
    if (event.type === "alarm.raised" && enabled()) {
      const priority = Number((event.payload || {}).priority);
      if (priority === 1 || priority === 2) notify(event);
    }
    if (event.type === "site.lockdown" || event.type === "site.threat_level") refreshBanner();
    // A repeat is counted on its open alarm without an alarm event of its own: refresh the
    // queue after events that raise alarms, at most once a second and a half during a storm.
    if (/^(door\.(forced|held)|device\.health|sensor\.|video\.detection)/.test(event.type || "")) {
      refreshQueueSoon();
    }
  });

  let queueTimer = null;
  function refreshQueueSoon() {
    if (queueTimer !== null) return;
    queueTimer = window.setTimeout(() => {
      queueTimer = null;
      body.dispatchEvent(new CustomEvent("refresh-alarms"));
    }, 1500);
  }

  async function refreshBanner() {
    const holder = document.getElementById("standing");
    if (!holder) return;
    try {
      const response = await fetch(window.location.href, { credentials: "same-origin" });
      if (!response.ok) return;
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.getElementById("standing");
      if (fresh) holder.replaceWith(fresh);
    } catch (err) { /* the next page load shows it */ }
  }
})();
