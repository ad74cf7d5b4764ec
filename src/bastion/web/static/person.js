// Person page: take a badge photo with the browser camera, or check a chosen file before it is
// sent. A camera shot is drawn on a canvas, made a JPEG and put in the form's file field, so both
// ways reach the server through the same upload (no inline script: the CSP forbids it).
(function () {
  const form = document.getElementById("photo-form");
  if (!form) return;
  const input = document.getElementById("photo-file");
  const camera = document.getElementById("camera");
  const view = document.getElementById("camera-view");
  const still = document.getElementById("camera-still");
  const start = document.getElementById("camera-start");
  const take = document.getElementById("camera-take");
  const preview = document.getElementById("photo-preview");
  const problem = document.getElementById("photo-problem");
  const limit = Number(form.dataset.limitMb || "5") * 1024 * 1024;
  let stream = null;

  function say(text) {
    problem.textContent = text;
    problem.hidden = !text;
  }

  function show(file) {
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(file);
    preview.hidden = false;
  }

  function stop() {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    camera.hidden = true;
  }

  input.addEventListener("change", () => {
    say("");
    const file = input.files && input.files[0];
    if (!file) return;
    if (file.size > limit) {
      say("That picture is larger than " + form.dataset.limitMb + " MB; choose a smaller one.");
      input.value = "";
      return;
    }
    show(file);
  });

  form.addEventListener("submit", (event) => {
    const file = input.files && input.files[0];
    if (!file) {
      event.preventDefault();
      say("Choose a picture file or take a photo first.");
    } else if (file.size > limit) {
      event.preventDefault();
      say("That picture is larger than " + form.dataset.limitMb + " MB; choose a smaller one.");
    }
    stop();
  });

  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.DataTransfer) return;
  start.hidden = false;

  start.addEventListener("click", async () => {
    say("");
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 720 } },
        audio: false,
      });
    } catch (err) {
      say("The camera could not be opened (" + (err && err.name ? err.name : "refused") +
          "); choose a picture file instead.");
      return;
    }
    view.srcObject = stream;
    camera.hidden = false;
    take.focus();
  });

  take.addEventListener("click", () => {
    if (!stream || !view.videoWidth) {
      say("The camera is not ready yet; try again in a moment.");
      return;
    }
    still.width = view.videoWidth;
    still.height = view.videoHeight;
    still.getContext("2d").drawImage(view, 0, 0, still.width, still.height);
    still.toBlob((blob) => {
      if (!blob) { say("The photo could not be taken; choose a picture file instead."); return; }
      const file = new File([blob], "camera.jpg", { type: "image/jpeg" });
      const files = new DataTransfer();
      files.items.add(file);
      input.files = files.files;
      show(file);
      stop();
    }, "image/jpeg", 0.9);
  });

  window.addEventListener("pagehide", stop);
})();
