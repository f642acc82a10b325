// Keyboard shortcuts of the chair's console. Every button that has one carries it as
// data-key (and shows it in a <kbd>); a key press clicks that button, so a shortcut does
// exactly what the button does, and nothing while the button is disabled or hidden.
//   N next speaker · T take back the floor · M mute all but the floor
//   ] next item · [ previous item · . next gallery page · , previous gallery page
// Keys typed into a field, with Ctrl/Alt/Meta, or while a dialog is open do nothing.

const consoleBox = document.getElementById("console");

/** The button bound to a key press, or null. */
export function buttonFor(ev, root = document) {
  if (ev.ctrlKey || ev.altKey || ev.metaKey || ev.isComposing) return null;
  const target = ev.target;
  if (target instanceof HTMLElement && (target.isContentEditable
    || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))) return null;
  if (document.querySelector("dialog[open]")) return null;
  const key = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
  const button = root.querySelector(`button[data-key="${CSS.escape(key)}"]`);
  if (!button || button.disabled || button.closest("[hidden]")) return null;
  return button;
}

if (consoleBox) {
  document.addEventListener("keydown", (ev) => {
    const button = buttonFor(ev, consoleBox);
    if (!button) return;
    ev.preventDefault();
    button.click();
    button.classList.add("key-flash");
    setTimeout(() => button.classList.remove("key-flash"), 250);
  });
  const help = document.getElementById("keys-help");
  const helpButton = document.getElementById("keys-help-button");
  helpButton?.addEventListener("click", () => {
    help.hidden = !help.hidden;
    helpButton.setAttribute("aria-expanded", help.hidden ? "false" : "true");
  });
  for (const button of consoleBox.querySelectorAll("button[data-key]")) {
    button.setAttribute("aria-keyshortcuts", button.dataset.key.toUpperCase());
  }
}
