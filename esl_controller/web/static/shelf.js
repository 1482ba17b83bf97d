// The shelf page's camera: a Scan button beside each field fills it from the phone's camera.
// The browser's own barcode detector (BarcodeDetector, Chrome on Android) reads the frames
// where it has one; elsewhere (Safari on iOS before 17, Firefox) the vendored ZXing decoder
// does, loaded only then. Without a camera the page stays a typed form (a hand scanner that
// types works the same way).
"use strict";

// Resolved against this script's own address, so the page needs no template change.
const STATIC_ROOT = new URL(".", document.currentScript.src);
const DECODER_SCRIPTS = ["vendor/zxing-library-0.23.0/zxing.min.js", "zxing_detector.js"];
const SCAN_INTERVAL_MS = 100;
// Each field reads only its own kind of code: the label's code (Code 128 or QR on its case),
// then the product's GTIN. A label that already shows a product also shows that product's
// EAN-13 and GS1 Digital Link QR, which must not be taken for the label's code.
const FIELDS = {
  "shelf-label": {
    formats: ["code_128", "qr_code"],
    accepts: (value) => value.length > 0 && value.length <= 64 && !value.includes("://"),
  },
  "shelf-gtin": {
    formats: ["ean_13", "ean_8", "upc_a"],
    accepts: (value) => /^[0-9]{8,14}$/.test(value),
  },
};

async function hasCamera() {
  const devices = navigator.mediaDevices;
  if (!devices || !devices.getUserMedia) return false; // also: a page not served over HTTPS
  if (!devices.enumerateDevices) return true;
  try {
    return (await devices.enumerateDevices()).some((device) => device.kind === "videoinput");
  } catch (error) {
    return true;
  }
}

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.onload = resolve;
    script.onerror = () => reject(new Error("could not load " + url));
    document.head.append(script);
  });
}

// How to make a detector for a list of formats: the browser's own when it reads every
// field's codes, else ZXing's. Null when neither can be had.
async function detectorMaker() {
  if ("BarcodeDetector" in window) {
    let supported = [];
    try {
      supported = await window.BarcodeDetector.getSupportedFormats();
    } catch (error) {
      supported = [];
    }
    const usable = (formats) => formats.filter((format) => supported.includes(format));
    if (Object.values(FIELDS).every((field) => usable(field.formats).length)) {
      return { kind: "native", make: (formats) => new window.BarcodeDetector({ formats: usable(formats) }) };
    }
  }
  try {
    for (const script of DECODER_SCRIPTS) await loadScript(new URL(script, STATIC_ROOT).href);
  } catch (error) {
    return null;
  }
  return { kind: "zxing", make: (formats) => new window.ZxingBarcodeDetector({ formats }) };
}

function stopCamera(video) {
  const stream = video.srcObject;
  if (stream) for (const track of stream.getTracks()) track.stop();
  video.srcObject = null;
  video.hidden = true;
}

async function scanInto(detector, accepts, video, field, onRead, onError) {
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
    if (video.srcObject !== stream) return; // stopped, or another scan took the camera
    try {
      const codes = await detector.detect(video);
      const read = codes.map((code) => code.rawValue.trim()).find(accepts);
      if (read) {
        field.value = read;
        stopCamera(video);
        onRead(field);
        return;
      }
    } catch (error) {
      stopCamera(video);
      onError("The camera could not read a code: type it instead.");
      return;
    }
    window.setTimeout(look, SCAN_INTERVAL_MS);
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
  const maker = (await hasCamera()) ? await detectorMaker() : null;
  if (!maker) {
    form.dataset.camera = "off";
    return;
  }
  form.dataset.camera = "on";
  form.dataset.decoder = maker.kind;
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
    const target = FIELDS[button.dataset.target];
    const detector = maker.make(target.formats);
    button.hidden = false;
    button.addEventListener("click", () => {
      stopCamera(video);
      note.hidden = true;
      scanInto(detector, target.accepts, video, document.getElementById(button.dataset.target), next, showError);
    });
  }
});
