"""``python -m deploy install|check|backup|restore|wait-idle`` (docs/operations.md)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

logger = logging.getLogger("deploy")


def _install(args: argparse.Namespace) -> int:
    from deploy import pki
    from deploy.install import InstallConfig, render

    try:
        config = InstallConfig(
            server_name=args.name, addresses=args.address, root=Path(args.root),
            app_dir=args.app_dir, cert=Path(args.cert) if args.cert else None,
            key=Path(args.key) if args.key else None,
            client_networks=args.client_network or list(InstallConfig.__dataclass_fields__[
                "client_networks"].default_factory()),  # type: ignore[misc]
            media_workers=args.media_workers, user=args.user,
            database_url=args.database_url, redis_url=args.redis_url,
        )
        result = render(config)
    except (ValueError, OSError) as exc:
        print(f"install: {exc}", file=sys.stderr)
        return 2
    for path in result.files:
        print(f"wrote {path}")
    print(f"certificate for {', '.join(result.cert.names)}, valid until "
          f"{result.cert.not_after:%d/%m/%Y}")
    if result.internal_ca is not None:
        print()
        print(pki.TRUST_HELP.format(name=config.server_name, ca=result.internal_ca))
    return 0


def _check(args: argparse.Namespace) -> int:
    from deploy.check import run_checks

    return run_checks(os.environ, env_file=Path(args.env_file) if args.env_file else None)


def _backup(args: argparse.Namespace) -> int:
    from deploy.backup import BackupError, make_backup

    try:
        path = make_backup(os.environ, Path(args.output))
    except BackupError as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 1
    print(f"backup written: {path}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from deploy.backup import BackupError, restore_backup

    try:
        summary = restore_backup(os.environ, Path(args.archive), force=args.force)
    except BackupError as exc:
        print(f"restore: {exc}", file=sys.stderr)
        return 1
    print(f"restored: {summary}")
    return 0


def _wait_idle(args: argparse.Namespace) -> int:
    from deploy.upgrade import wait_idle

    return wait_idle(os.environ, minutes=args.minutes, poll_seconds=args.poll)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m deploy")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("install", help="write units, proxy, TURN and TLS configuration")
    p.add_argument("--name", required=True, help="intranet name or address browsers use")
    p.add_argument("--address", action="append", required=True, help="server's intranet IP (repeat)")
    p.add_argument("--cert", help="existing server certificate (PEM, with chain)")
    p.add_argument("--key", help="its private key (PEM)")
    p.add_argument("--client-network", action="append", help="endpoints' networks (repeat); "
                   "default the private ranges")
    p.add_argument("--media-workers", "--media-nodes", dest="media_workers", type=int, default=0,
                   help="media node processes (python -m media.workers); default 0: one per core")
    p.add_argument("--user", default="giaoban")
    p.add_argument("--app-dir", default="/opt/giaoban")
    p.add_argument("--database-url", default="postgresql+psycopg://giaoban@/giaoban")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    p.add_argument("--root", default="/", help="write under this folder instead of / (tests)")
    p.set_defaults(func=_install)

    p = sub.add_parser("check", help="what is up, what is misconfigured, what to do")
    p.add_argument("--env-file", help="read settings from this file (default: the environment)")
    p.set_defaults(func=_check)

    p = sub.add_parser("backup", help="database, documents, recordings, secrets into one archive")
    p.add_argument("output", help="archive file (.tar) or an existing folder")
    p.set_defaults(func=_backup)

    p = sub.add_parser("restore", help="restore an archive on a fresh server")
    p.add_argument("archive")
    p.add_argument("--force", action="store_true", help="replace a database that has data")
    p.set_defaults(func=_restore)

    p = sub.add_parser("wait-idle", help="wait until no meeting is live (before restarting media nodes)")
    p.add_argument("--minutes", type=float, default=240)
    p.add_argument("--poll", type=float, default=30, help="seconds between looks")
    p.set_defaults(func=_wait_idle)

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
