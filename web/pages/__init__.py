"""Server-rendered pages (Jinja). Routes are thin: parse, call an action, render."""
