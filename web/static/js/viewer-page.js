// Entry of the document viewer page (no inline script: Content-Security-Policy).
import { openViewer } from "./viewer.js";

const config = JSON.parse(document.getElementById("viewer-config").textContent);
window.giaobanViewer = await openViewer({
  url: config.url,
  pdfjs: config.pdfjs,
  canvas: document.getElementById("pdf-canvas"),
  page: config.page,
  documentId: config.documentId,
});
document.dispatchEvent(new CustomEvent("giaoban:viewer-ready", { detail: window.giaobanViewer }));
