// Camera pictures: a picture that fails to load (camera down, no answer in time) is replaced by
// a plain "Camera not answering" line; camera icons on the map open their picture in a dialog.
// Pictures always come from Bastion's own proxy routes, never from the camera itself.
(function () {
  function down(img) {
    const figure = img.closest(".camera-picture");
    if (!figure) return;
    img.hidden = true;
    figure.classList.add("is-down");
    const note = figure.querySelector(".camera-down");
    if (note) note.hidden = false;
  }
  function up(img) {
    const figure = img.closest(".camera-picture");
    if (!figure) return;
    img.hidden = false;
    figure.classList.remove("is-down");
    const note = figure.querySelector(".camera-down");
    if (note) note.hidden = true;
  }
  // Errors of <img> do not bubble: listen in the capture phase, which also covers swapped-in HTML.
  document.addEventListener("error", (e) => {
    if (e.target instanceof HTMLImageElement) down(e.target);
  }, true);
  function sweep(root) {
    root.querySelectorAll(".camera-picture img").forEach((img) => {
      if (img.complete && img.naturalWidth === 0 && img.getAttribute("src")) down(img);
    });
  }
  sweep(document);
  document.body.addEventListener("htmx:afterSwap", (e) => sweep(e.target));

  let dialog = null;
  function pictureDialog() {
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.id = "camera-dialog";
    dialog.className = "camera-dialog";
    dialog.setAttribute("aria-labelledby", "camera-dialog-title");
    dialog.innerHTML = '<h2 id="camera-dialog-title"></h2>' +
      '<figure class="camera-picture"><img alt="" width="640" height="360">' +
      '<p class="camera-down" hidden>Camera not answering</p></figure>' +
      '<p class="small"><a id="camera-live" target="_blank" rel="noopener" hidden>Watch live</a></p>' +
      '<form method="dialog"><button type="submit" id="camera-close">Close</button></form>';
    document.body.appendChild(dialog);
    return dialog;
  }
  function openCamera(g) {
    const box = pictureDialog();
    const img = box.querySelector("img");
    box.querySelector("#camera-dialog-title").textContent = g.dataset.name;
    img.alt = "What " + g.dataset.name + " sees now";
    up(img);
    // Fetch afresh each time: a still picture is only worth what it shows now.
    img.src = g.dataset.picture + (g.dataset.picture.includes("?") ? "&" : "?") + "at=" + Date.now();
    const live = box.querySelector("#camera-live");
    live.hidden = !g.dataset.live;
    if (g.dataset.live) live.href = g.dataset.live;
    if (!box.open) box.showModal();
  }
  document.addEventListener("click", (e) => {
    const g = e.target.closest && e.target.closest("g.camera[data-picture], button[data-picture]");
    if (g) openCamera(g);
  });
  document.addEventListener("keydown", (e) => {
    const g = e.target.closest && e.target.closest("g.camera[data-picture], button[data-picture]");
    if (g && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); openCamera(g); }
  });
})();
