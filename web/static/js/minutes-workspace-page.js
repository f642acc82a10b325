// Entry of the secretary's workspace (no inline script: Content-Security-Policy).
import { mountWorkspace } from "./minutes-workspace.js";
import { mountSpeeches } from "./minutes-speeches.js";

const config = JSON.parse(document.getElementById("minutes-config").textContent);
mountWorkspace(config);
mountSpeeches(config, document.getElementById("speeches").dataset);
