"""Backup and restore of one installation (issue 15).

``make_backup`` writes one tar archive: the database (``pg_dump`` custom format, or SQLite's
online backup), then the document storage, the recordings, the instance folder's secrets
(session key, media secret, demo signing keys) and the secret files the settings name
(TURN secret, the agency's signing certificate and key, the TLS folder), with a manifest
giving every file's SHA-256. The database is dumped first, so every row refers to files that
are already in storage when they are copied (documents are stored before their row is
committed, by content hash); a recording still being written is copied up to where it was.

``restore_backup`` checks the whole archive against its manifest before it touches
anything, refuses a database that already holds data (unless forced), restores the
database in one transaction and moves the files into place. A failure leaves nothing
half-written: the archive is written as ``.partial`` and renamed at the end; a restore
stages files next to their destination first.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import io
import json
import logging
import os
import pwd
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, make_url, text

from core.settings import load_settings
from media.recording.config import recordings_dir

logger = logging.getLogger(__name__)

FORMAT = 1
SKIP_INSTANCE = {"giaoban.sqlite", "celerybeat-schedule", "data"}
SECRET_VARIABLES = ("GIAOBAN_TURN_SECRET_FILE", "GIAOBAN_SIGNING_P12", "GIAOBAN_SIGNING_KEY",
                    "GIAOBAN_SIGNING_CERT")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says what to do."""


@dataclass(frozen=True)
class Source:
    role: str  # storage | recordings | instance | secret | tls
    root: Path


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sources(env: Mapping[str, str]) -> tuple[Any, list[Source], dict[str, Path]]:
    settings = load_settings(dict(env))
    sources = [Source("storage", settings.storage_dir), Source("recordings", recordings_dir(env)),
               Source("instance", settings.instance_path)]
    secrets = {name: Path(env[name]) for name in SECRET_VARIABLES if env.get(name)}
    if env.get("GIAOBAN_TLS_CERT"):
        secrets["tls"] = Path(env["GIAOBAN_TLS_CERT"]).parent
    return settings, sources, secrets


def _walk(source: Source) -> Iterator[tuple[Path, str]]:
    """(file, name in the archive) of one source folder."""
    if not source.root.is_dir():
        return
    for path in sorted(source.root.rglob("*")):
        rel = path.relative_to(source.root)
        if source.role == "instance" and (rel.parts[0] in SKIP_INSTANCE or rel.suffix == ".tmp"):
            continue
        if source.role == "recordings" and path.suffix == ".partial":
            continue
        if source.role == "storage" and rel.parts[0] == "tmp":  # unfinished uploads
            continue
        if path.is_file() and not path.is_symlink():
            yield path, f"{source.role}/{rel.as_posix()}"


def _secret_files(secrets: dict[str, Path]) -> Iterator[tuple[Path, str, str]]:
    for name, path in secrets.items():
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                yield file, f"secrets/{name}/{file.relative_to(path).as_posix()}", name
        elif path.is_file():
            yield path, f"secrets/{name}/{path.name}", name


def _as_owner(url: str, cmd: list[str], folder: Path) -> list[str]:
    """Run as root (to read the CA key and every secret) while PostgreSQL, reached over its
    local socket with peer authentication, wants its own role's OS user: the pg tool then
    runs as that user, in a folder it may use."""
    parsed = make_url(url)
    if os.geteuid() != 0 or parsed.host or not parsed.username or parsed.username == "root":
        return cmd
    try:
        uid = pwd.getpwnam(parsed.username).pw_uid
    except KeyError:
        return cmd
    for path in (folder, *folder.rglob("*")):
        os.chown(path, uid, -1)
    return ["runuser", "-u", parsed.username, "--", *cmd]


def _dump_database(url: str, folder: Path) -> Path:
    if url.startswith("sqlite"):
        source = make_url(url).database or ""
        target = folder / "database.sqlite"
        src = sqlite3.connect(source)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # a consistent copy of a live database
        finally:
            dst.close()
            src.close()
        return target
    target = folder / "database.dump"
    result = subprocess.run(_as_owner(url, ["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                                            f"--file={target}", _libpq(url)], folder),
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    return target


def _database_size(url: str) -> int:
    if url.startswith("sqlite"):
        path = Path(make_url(url).database or "")
        return path.stat().st_size if path.exists() else 0
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("select pg_database_size(current_database())")).scalar() or 0)
    finally:
        engine.dispose()


def _no_space(target: Path, need: int, have: int | None = None) -> BackupError:
    have_text = f", {have // 2**20} MB free" if have is not None else ""
    return BackupError(f"not enough space on {target.parent} for the backup (about "
                       f"{need // 2**20 + 1} MB needed{have_text}); free some space or give "
                       "another folder or disk")


class _HashingReader(io.RawIOBase):
    def __init__(self, fh: Any, size: int) -> None:
        self.fh, self.left, self.sha = fh, size, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self.fh.read(min(len(buffer), self.left))
        if len(chunk) < min(len(buffer), self.left):  # shrank under us: pad (never happens for
            chunk += b"\0" * (min(len(buffer), self.left) - len(chunk))  # append-only files)
        buffer[: len(chunk)] = chunk
        self.sha.update(chunk)
        self.left -= len(chunk)
        return len(chunk)


def _add(tar: tarfile.TarFile, path: Path, name: str, manifest: list[dict[str, Any]], role: str,
         origin: str | None = None) -> None:
    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size  # a growing recording is taken up to here
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, int(path.stat().st_mtime), 0o600
        reader = _HashingReader(fh, size)
        tar.addfile(info, io.BufferedReader(reader))  # type: ignore[arg-type]
    entry = {"name": name, "size": size, "sha256": reader.sha.hexdigest(), "role": role}
    if origin:
        entry["origin"] = origin
    manifest.append(entry)


def make_backup(env: Mapping[str, str], output: Path) -> Path:
    """Write the archive; returns its path. BackupError (nothing left behind) otherwise."""
    settings, sources, secrets = _sources(env)
    if output.is_dir():
        output = output / f"giaoban-{dt.datetime.now():%Y%m%d-%H%M%S}.tar"
    if not output.parent.is_dir():
        raise BackupError(f"folder {output.parent} does not exist; create it or give another path")
    if output.exists():
        raise BackupError(f"{output} already exists; give a new file name")
    files = [(p, n, s.role, None) for s in sources for p, n in _walk(s)]
    files += [(p, n, "secret", name) for p, n, name in _secret_files(secrets)]
    need = _database_size(settings.database_url) + sum(p.stat().st_size + 1024 for p, *_ in files)
    free = shutil.disk_usage(output.parent).free
    if free < need * 1.05 + 2**20:
        raise _no_space(output, need, free)

    partial = output.with_name(output.name + ".partial")
    manifest: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(dir=output.parent, prefix=".giaoban-backup-") as tmp:
            dump = _dump_database(settings.database_url, Path(tmp))
            with tarfile.open(partial, "w") as tar:
                _add(tar, dump, dump.name, manifest, "database")
                for path, name, role, origin in files:
                    if path.exists():  # deleted since the listing (retention): skip
                        _add(tar, path, name, manifest, role,
                             str(secrets[origin]) if origin else None)
                head = {"format": FORMAT, "created_at": dt.datetime.now(dt.UTC).isoformat(),
                        "database": "sqlite" if settings.database_url.startswith("sqlite") else "postgresql",
                        "files": manifest}
                data = json.dumps(head, indent=1).encode()
                info = tarfile.TarInfo("manifest.json")
                info.size, info.mode = len(data), 0o600
                tar.addfile(info, io.BytesIO(data))
            os.chmod(partial, 0o600)
            os.replace(partial, output)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise _no_space(output, need) from None
        raise BackupError(f"backup to {output} failed: {exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    logger.info("backup %s: %d files", output, len(manifest))
    return output


# ------------------------------------------------------------------------------ restore


def _verify(tar: tarfile.TarFile, staging: Path) -> dict[str, Any]:
    try:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    except (KeyError, ValueError) as exc:
        raise BackupError(f"not a giaoban backup (no readable manifest: {exc})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')} is not supported")
    for entry in manifest["files"]:
        name = entry["name"]
        if name.startswith("/") or ".." in Path(name).parts:
            raise BackupError(f"unsafe name in archive: {name}")
        member = tar.extractfile(name)
        if member is None:
            raise BackupError(f"{name} is missing from the archive")
        target = staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        sha = hashlib.sha256()
        with target.open("wb") as out:
            while chunk := member.read(1 << 20):
                sha.update(chunk)
                out.write(chunk)
        if sha.hexdigest() != entry["sha256"]:
            raise BackupError(f"{name} is damaged (SHA-256 differs from the manifest); use "
                              "another copy of the backup")
    return manifest  # type: ignore[no-any-return]


def _database_has_data(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
            if "meetings" not in tables:
                return bool(set(tables) - {"alembic_version"})
            return bool(conn.execute(text("select count(*) from meetings")).scalar())
    finally:
        engine.dispose()


def _restore_database(url: str, staging: Path, kind: str, force: bool) -> None:
    if _database_has_data(url) and not force:
        raise BackupError("the target database already holds data; restore into an empty "
                          "database (createdb), or add --force to replace it")
    if kind == "sqlite":
        if not url.startswith("sqlite"):
            raise BackupError("the backup is of a SQLite database; set DATABASE_URL to a sqlite:/// path")
        target = Path(make_url(url).database or "")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".restoring")
        shutil.copyfile(staging / "database.sqlite", tmp)
        os.replace(tmp, target)
        return
    if url.startswith("sqlite"):
        raise BackupError("the backup is of a PostgreSQL database; set DATABASE_URL to PostgreSQL")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:  # an empty schema, then the dump in one transaction
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    finally:
        engine.dispose()
    result = subprocess.run(_as_owner(url, ["pg_restore", "--no-owner", "--no-privileges",
                                            "--single-transaction", "--exit-on-error",
                                            f"--dbname={_libpq(url)}", str(staging / "database.dump")],
                                      staging),
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed (database left empty): {result.stderr.strip()[-800:]}")


def restore_backup(env: Mapping[str, str], archive: Path, force: bool = False) -> dict[str, int]:
    """Restore on a fresh server; returns counts per role."""
    if not archive.is_file():
        raise BackupError(f"backup file {archive} does not exist")
    settings, sources, secrets = _sources(env)
    roots = {s.role: s.root for s in sources}
    for role in ("storage", "recordings"):
        root = roots[role]
        if root.is_dir() and any(root.iterdir()) and not force:
            raise BackupError(f"{root} is not empty; restore on a fresh server or add --force")
    base = settings.instance_path.parent
    with tempfile.TemporaryDirectory(dir=base, prefix=".giaoban-restore-") as tmp:
        staging = Path(tmp)
        try:
            with tarfile.open(archive, "r") as tar:
                manifest = _verify(tar, staging)
        except (tarfile.TarError, EOFError) as exc:
            raise BackupError(f"{archive} is not a readable tar archive ({exc})") from None
        _restore_database(settings.database_url, staging, manifest["database"], force)
        counts: dict[str, int] = {}
        for entry in manifest["files"]:
            role, name = entry["role"], entry["name"]
            if role == "database":
                continue
            if role == "secret":
                variable = name.split("/")[1]
                origin = Path(entry["origin"])
                rest = Path(*Path(name).parts[2:])
                configured = secrets.get(variable)
                if variable == "tls":
                    dest = (configured or origin) / rest
                else:
                    dest = configured or origin
            else:
                dest = roots[role] / Path(*Path(name).parts[1:])
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp_dest = dest.with_name(dest.name + ".restoring")
            shutil.move(str(staging / name), tmp_dest)
            os.chmod(tmp_dest, 0o600 if role in ("secret", "instance") else 0o644)
            os.replace(tmp_dest, dest)
            counts[role] = counts.get(role, 0) + 1
    return counts
