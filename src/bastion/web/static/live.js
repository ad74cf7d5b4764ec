// Shared by every console page: one SSE connection re-broadcast as DOM events, the API helper
// (CSRF header, 401 → sign-in page), session-expiry handling, idle timeout and sign-out.
(function () {
  const body = document.body;
  const status = document.getElementById("feed-status");
  const csrf = document.getElementById("live-script").dataset.csrf;
  const idleMinutes = Number(body.dataset.idleMinutes || "15");

  function toLogin() {
    const next = window.location.pathname + window.location.search;
    window.location.assign("/login?expired=1&next=" + encodeURIComponent(next));
  }

  async function post(url, payload) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(payload || {}),
    });
    if (response.status === 401) { toLogin(); return { ok: false, status: 401, detail: "signed out" }; }
    let data = null;
    try { data = await response.json(); } catch (err) { /* empty body */ }
    const detail = (data && data.detail) || response.statusText;
    return { ok: response.ok, status: response.status, detail: detail, data: data };
  }

  function fire(name, detail) { body.dispatchEvent(new CustomEvent(name, { detail: detail })); }

  function formatTime(iso) {
    try {
      return new Date(iso).toLocaleTimeString("en-US", { timeZone: body.dataset.tz || "UTC", hourCycle: "h23", timeZoneName: "short" });
    } catch (err) { return new Date(iso).toLocaleTimeString(); }
  }

  function formatAge(seconds) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + String(s % 60).padStart(2, "0") + " s";
    return Math.floor(s / 3600) + " h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + " min";
  }

  window.bastion = { csrf: csrf, post: post, toLogin: toLogin, fire: fire, formatTime: formatTime };
  window.bastionCsrf = csrf;

  // Live feed.
  const source = new EventSource("/api/events/stream");
  source.addEventListener("hello", () => {
    if (status) { status.textContent = "live"; status.classList.add("ok"); }
  });
  source.onerror = async () => {
    if (status) { status.textContent = "reconnecting…"; status.classList.remove("ok"); }
    // EventSource gives no status code: ask whether the session is still alive.
    try {
      const me = await fetch("/api/auth/me", { credentials: "same-origin" });
      if (me.status === 401) { source.close(); toLogin(); }
    } catch (err) { /* server unreachable: EventSource keeps retrying */ }
  };
  source.addEventListener("security", (message) => {
    const event = JSON.parse(message.data);
    fire("bastion:event", event);
    const type = event.type;
    if (/^(door\.|site\.lockdown|device\.health)/.test(type)) fire("refresh-map");
    if (/^(alarm\.|incident\.)/.test(type)) { fire("refresh-alarms"); fire("refresh-alarm", event); }
    if (/^(device\.health|reader\.status|site\.threat_level)/.test(type)) fire("refresh-status");
  });

  // htmx refreshes: a redirect to the sign-in page means the session ended.
  body.addEventListener("htmx:beforeSwap", (e) => {
    const xhr = e.detail.xhr;
    if (xhr.status === 401 || (xhr.responseURL && new URL(xhr.responseURL).pathname === "/login")) {
      e.detail.shouldSwap = false;
      toLogin();
    }
  });

  // Ages tick without a server round trip.
  function tick() {
    const now = Date.now();
    document.querySelectorAll("[data-since]").forEach((el) => {
      const seconds = (now - Date.parse(el.dataset.since)) / 1000;
      el.textContent = (el.classList.contains("waiting") ? "waiting " : "") + formatAge(seconds);
    });
  }
  setInterval(tick, 5000);

  // Idle timeout: warn a minute ahead, then sign out (the server would refuse anyway).
  const warning = document.getElementById("session-warning");
  let lastActivity = Date.now();
  ["keydown", "pointerdown", "pointermove", "wheel", "touchstart"].forEach((name) =>
    window.addEventListener(name, () => {
      lastActivity = Date.now();
      if (warning && !warning.hidden) warning.hidden = true;
    }, { passive: true }));
  setInterval(async () => {
    const idle = (Date.now() - lastActivity) / 60000;
    if (idle >= idleMinutes) {
      await fetch("/api/auth/logout", { method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" });
      toLogin();
    } else if (idle >= idleMinutes - 1 && warning) {
      warning.textContent = "You will be signed out in a minute for inactivity. Move the mouse or press a key to stay.";
      warning.hidden = false;
    }
  }, 10000);

  const navToggle = document.getElementById("nav-toggle");
  if (navToggle) {
    navToggle.addEventListener("click", () => {
      const nav = document.getElementById("nav");
      const open = nav.classList.toggle("open");
      navToggle.setAttribute("aria-expanded", String(open));
    });
  }

  const signOut = document.getElementById("sign-out");
  if (signOut) {
    signOut.addEventListener("click", async () => {
      await fetch("/api/auth/logout", { method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" });
      window.location.assign("/login");
    });
  }

  // Choices that reload the page when changed (no inline handlers: the CSP forbids them).
  document.querySelectorAll("select[data-submit-on-change]").forEach((select) => {
    select.addEventListener("change", () => { if (select.form) select.form.submit(); });
  });
})();
