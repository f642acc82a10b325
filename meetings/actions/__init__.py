"""Actions: each takes a Session and the acting user, checks rights, does one thing."""
