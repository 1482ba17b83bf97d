// The shelf page's camera: where the browser reads barcodes itself (BarcodeDetector),
// a Scan button beside each field fills it from the phone's camera. Elsewhere the page
// stays a typed form (a hand scanner that types works the same way).
"use strict";

function cameraPossible() {
  return "BarcodeDetector" in window && !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

async function makeDetector() {
  let formats = [];
  try {
    formats = await window.BarcodeDetector.getSupportedFormats();
  } catch (error) {
    formats = [];
  }
  return formats.length ? new window.BarcodeDetector({ formats }) : null;
}

function stopCamera(video) {
  const stream = video.srcObject;
  if (stream) for (const track of stream.getTracks()) track.stop();
  video.srcObject = null;
  video.hidden = true;
}

async function scanInto(detector, video, field, onRead, onError) {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  } catch (error) {
    onError("The camera could not be opened (" + error.name + "): type the code instead.");
    return;
  }
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  const look = async () => {
    if (!video.srcObject) return;
    try {
      const codes = await detector.detect(video);
      if (codes.length) {
        field.value = codes[0].rawValue.trim();
        stopCamera(video);
        onRead(field);
        return;
      }
    } catch (error) {
      stopCamera(video);
      onError("The camera could not read a code: type it instead.");
      return;
    }
    window.requestAnimationFrame(look);
  };
  look();
}

document.addEventListener("DOMContentLoaded", async () => {
  const form = document.getElementById("shelf-form");
  if (!form) return;
  const label = document.getElementById("shelf-label");
  const gtin = document.getElementById("shelf-gtin");
  const note = document.getElementById("camera-note");
  const video = document.getElementById("shelf-camera");
  // A scanner (or a person) presses Enter after the label's code: go on to the product.
  label.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !gtin.value) {
      event.preventDefault();
      gtin.focus();
    }
  });
  const detector = cameraPossible() ? await makeDetector() : null;
  if (!detector) {
    form.dataset.camera = "off";
    return;
  }
  form.dataset.camera = "on";
  note.hidden = true;
  const showError = (message) => {
    note.textContent = message;
    note.hidden = false;
  };
  const next = (field) => {
    const submit = document.getElementById("shelf-submit") || document.getElementById("shelf-relink");
    if (field === label) gtin.focus();
    else if (submit) submit.focus();
  };
  for (const button of form.querySelectorAll("button.scan")) {
    button.hidden = false;
    button.addEventListener("click", () => {
      stopCamera(video);
      scanInto(detector, video, document.getElementById(button.dataset.target), next, showError);
    });
  }
});
