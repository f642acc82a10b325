"""Production installation on a Debian server (issue 15): configuration files and units
(``install``), backup and restore (``backup``), and the health check (``check``).
Run as ``python -m deploy``; scripts/install-server.sh is the one command an operator types."""
