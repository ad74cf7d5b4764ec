// Site map zoom: + / − / "Whole site" buttons, the mouse wheel (around the pointer) and drag to
// move. It changes the SVG's viewBox, so the plan stays sharp; the view survives the map's
// live refreshes (htmx swaps the SVG every few seconds).
(function () {
  const holder = document.getElementById("map-holder");
  const controls = document.querySelector("[data-map-zoom]");
  if (!holder || !controls) return;
  const MAX_ZOOM = 8;
  let base = null;
  let view = null;

  function svg() { return document.getElementById("site-map"); }
  function read(map) {
    const [x, y, w, h] = map.getAttribute("viewBox").split(/[\s,]+/).map(Number);
    return { x, y, w, h };
  }
  function apply() {
    const map = svg();
    if (!map || !view) return;
    map.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`);
    map.dataset.zoom = (base.w / view.w).toFixed(2);
    controls.querySelector('[data-zoom="out"]').disabled = view.w >= base.w;
    controls.querySelector('[data-zoom="in"]').disabled = view.w <= base.w / MAX_ZOOM + 1e-9;
  }
  function clamp() {
    view.w = Math.min(base.w, Math.max(base.w / MAX_ZOOM, view.w));
    view.h = view.w * base.h / base.w;
    view.x = Math.min(base.x + base.w - view.w, Math.max(base.x, view.x));
    view.y = Math.min(base.y + base.h - view.h, Math.max(base.y, view.y));
  }
  function adopt() {
    const map = svg();
    if (!map) return;
    const fresh = read(map);
    if (!base || fresh.w !== base.w || fresh.h !== base.h) { base = fresh; view = { ...fresh }; }
    apply();
  }
  // Zoom by ``factor`` (< 1 zooms in) keeping the plan point (px, py) where it is on screen.
  function zoom(factor, px, py) {
    if (!view) return;
    const cx = px === undefined ? view.x + view.w / 2 : px;
    const cy = py === undefined ? view.y + view.h / 2 : py;
    const w = Math.min(base.w, Math.max(base.w / MAX_ZOOM, view.w * factor));
    const k = w / view.w;
    view = { x: cx - (cx - view.x) * k, y: cy - (cy - view.y) * k, w, h: view.h * k };
    clamp();
    apply();
  }
  function planPoint(map, clientX, clientY) {
    const point = map.createSVGPoint();
    point.x = clientX;
    point.y = clientY;
    return point.matrixTransform(map.getScreenCTM().inverse());
  }

  controls.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-zoom]");
    if (!button) return;
    if (button.dataset.zoom === "in") zoom(0.7);
    else if (button.dataset.zoom === "out") zoom(1 / 0.7);
    else { view = { ...base }; apply(); }
  });
  holder.addEventListener("wheel", (e) => {
    const map = svg();
    if (!map || !view) return;
    e.preventDefault();
    const p = planPoint(map, e.clientX, e.clientY);
    zoom(e.deltaY > 0 ? 1.2 : 1 / 1.2, p.x, p.y);
  }, { passive: false });

  let drag = null;
  let dragged = false;
  holder.addEventListener("pointerdown", (e) => {
    const map = svg();
    if (!map || !view || e.button !== 0) return;
    drag = { x: e.clientX, y: e.clientY, view: { ...view }, scale: view.w / map.getBoundingClientRect().width };
    dragged = false;
  });
  holder.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x;
    const dy = e.clientY - drag.y;
    if (!dragged && Math.hypot(dx, dy) < 5) return;
    dragged = true;
    view = { ...drag.view, x: drag.view.x - dx * drag.scale, y: drag.view.y - dy * drag.scale };
    clamp();
    apply();
  });
  const stop = () => { drag = null; };
  holder.addEventListener("pointerup", stop);
  holder.addEventListener("pointerleave", stop);
  holder.addEventListener("pointercancel", stop);
  // A drag is not a click: do not open the door or camera under the pointer afterwards.
  holder.addEventListener("click", (e) => {
    if (dragged) { e.stopPropagation(); e.preventDefault(); dragged = false; }
  }, true);

  adopt();
  document.body.addEventListener("htmx:afterSwap", (e) => { if (e.target === holder) adopt(); });
})();
