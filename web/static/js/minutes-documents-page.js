// Entry of the minutes documents page (no inline script: Content-Security-Policy).
import { mountDocuments } from "./minutes-documents.js";

mountDocuments(JSON.parse(document.getElementById("minutes-config").textContent));
