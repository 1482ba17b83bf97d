// A stand-in for the browser's BarcodeDetector, built on the vendored ZXing decoder
// (vendor/zxing-library-*/zxing.min.js, which shelf.js loads first). It keeps the native
// interface (getSupportedFormats, detect(source) -> [{rawValue, format}]), so the shelf page
// reads the camera the same way whichever decoder the browser has.
"use strict";

(() => {
  const ZXing = window.ZXing;
  // The names are the BarcodeDetector's; upper-cased they are ZXing's BarcodeFormat names.
  const FORMATS = ["code_128", "qr_code", "ean_13", "ean_8", "upc_a"];
  // A phone camera gives 640 x 480 to 1920 x 1080 frames; beyond this width decoding costs
  // more than it gains for a code held 10-30 cm away.
  const MAX_WIDTH = 1280;
  const NOTHING_READ = [ZXing.NotFoundException, ZXing.ChecksumException, ZXing.FormatException];

  class ZxingBarcodeDetector {
    static async getSupportedFormats() {
      return FORMATS.slice();
    }

    constructor(options = {}) {
      const wanted = (options.formats || FORMATS).filter((format) => FORMATS.includes(format));
      if (!wanted.length) throw new TypeError("none of the formats asked for can be read");
      const hints = new Map();
      hints.set(
        ZXing.DecodeHintType.POSSIBLE_FORMATS,
        wanted.map((format) => ZXing.BarcodeFormat[format.toUpperCase()]),
      );
      this.reader = new ZXing.MultiFormatReader();
      this.reader.setHints(hints);
      this.canvas = document.createElement("canvas");
      this.context = this.canvas.getContext("2d", { willReadFrequently: true });
    }

    async detect(source) {
      const width = source.videoWidth || source.naturalWidth || source.width;
      const height = source.videoHeight || source.naturalHeight || source.height;
      if (!width || !height) return []; // the video has no frame yet
      const scale = Math.min(1, MAX_WIDTH / width);
      this.canvas.width = Math.round(width * scale);
      this.canvas.height = Math.round(height * scale);
      this.context.drawImage(source, 0, 0, this.canvas.width, this.canvas.height);
      // Auto-invert: some labels print light bars on a dark (red or black) field.
      const luminance = new ZXing.HTMLCanvasElementLuminanceSource(this.canvas, true);
      const bitmap = new ZXing.BinaryBitmap(new ZXing.HybridBinarizer(luminance));
      try {
        const result = this.reader.decodeWithState(bitmap);
        const format = ZXing.BarcodeFormat[result.getBarcodeFormat()].toLowerCase();
        return [{ rawValue: result.getText(), format }];
      } catch (error) {
        if (NOTHING_READ.some((kind) => error instanceof kind)) return [];
        throw error;
      } finally {
        this.reader.reset();
      }
    }
  }

  window.ZxingBarcodeDetector = ZxingBarcodeDetector;
})();
