// Entry of the secretary's workspace (no inline script: Content-Security-Policy).
import { mountWorkspace } from "./minutes-workspace.js";

mountWorkspace(JSON.parse(document.getElementById("minutes-config").textContent));
