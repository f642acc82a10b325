"""Documents benchmark, printed (nothing asserted):

1. peak memory of the web process (gunicorn gthread worker, as in the Procfile) while a
   200 MB file is uploaded through /api/v1/meetings/<id>/documents (target: grows < 50 MB);
2. throughput of N concurrent readers (default 100) each fetching a 20 MB PDF in Range
   requests, as PDF.js does.

    .venv/bin/python bench/documents_bench.py [--upload-mb 200] [--readers 100]
        [--pdf-mb 20] [--range-kb 1024] [--server gunicorn|werkzeug]

Everything runs on 127.0.0.1 with a fresh SQLite database and storage in a temp folder.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BOUNDARY = "----giaobanbench7b1f"


def make_app():  # gunicorn entry: documents_bench:make_app()
    from web import create_app

    app = create_app({"SOCKETIO_EMBEDDED_QUEUE": True})
    if "documents" not in app.blueprints:
        from web.documents import bp

        app.register_blueprint(bp)
    app.config["DOCUMENTS_CONVERT_EAGER"] = os.environ.get("BENCH_EAGER") == "1"
    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in kB."""
    values = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                values[key] = int(value.split()[0])
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


def reset_peak(pid: int) -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) of a process (Linux, "5" in clear_refs)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except FileNotFoundError:
        return []


class Server:
    def __init__(self, kind: str, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        if kind == "gunicorn":
            cmd = [str(ROOT / ".venv/bin/gunicorn"), "--worker-class", "gthread", "--workers", "1",
                   "--threads", "200", "--bind", f"127.0.0.1:{self.port}", "--timeout", "600",
                   "--chdir", str(ROOT / "bench"), "--pythonpath", str(ROOT), "documents_bench:make_app()"]
        else:
            code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / 'bench')!r});"
                    "from documents_bench import make_app; from werkzeug.serving import run_simple;"
                    f"run_simple('127.0.0.1', {self.port}, make_app(), threaded=True)")
            cmd = [sys.executable, "-c", code]
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.kind = kind
        import requests

        for _ in range(300):
            try:
                requests.get(self.base + "/login", timeout=10)
                break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise RuntimeError("server did not start: " + self.proc.stderr.read(2000).decode())

    @property
    def web_pid(self) -> int:
        if self.kind == "gunicorn":
            kids = children(self.proc.pid)
            return kids[0] if kids else self.proc.pid
        return self.proc.pid

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def login(base: str, username: str, password: str):
    import requests

    s = requests.Session()
    token = s.get(base + "/api/v1/auth/csrf").json()["csrf_token"]
    r = s.post(base + "/api/v1/auth/login", json={"username": username, "password": password},
               headers={"X-CSRFToken": token})
    r.raise_for_status()
    s.headers["X-CSRFToken"] = r.json()["csrf_token"]
    return s


class MultipartBody:
    """A multipart body produced in chunks; len() known so Content-Length is sent."""

    def __init__(self, fields: dict[str, str], filename: str, chunks, size: int) -> None:
        head = "".join(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                       for k, v in fields.items())
        head += (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n")
        self.head = head.encode()
        self.tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.chunks = chunks
        self.size = size

    def __len__(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def __iter__(self):
        yield self.head
        yield from self.chunks
        yield self.tail


def big_pdf_chunks(total: int, block: int = 1024 * 1024):
    """A file that starts like a PDF (the type check reads content) and is `total` bytes."""
    first = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    rnd = random.Random(7)
    filler = bytes(rnd.getrandbits(8) for _ in range(block))
    sent = 0
    yield first
    sent += len(first)
    while sent < total:
        n = min(block, total - sent)
        yield filler[:n]
        sent += n


def bench_upload(server: Server, mb: int) -> dict[str, float]:
    s = login(server.base, "thuky", "giaoban2026")
    meeting = s.get(server.base + "/api/v1/meetings").json()["upcoming"][0]["id"]
    # Warm up the upload path with a small file, then take the baseline.
    small = MultipartBody({"kind": "reference"}, "warm.pdf", big_pdf_chunks(256 * 1024), 256 * 1024)
    s.post(f"{server.base}/api/v1/meetings/{meeting}/documents", data=small,
           headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}).raise_for_status()
    pid = server.web_pid
    reset_peak(pid)
    base_rss, base_hwm = rss_kb(pid)
    peak = [base_rss]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kb(pid)[0])
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    size = mb * 1024 * 1024
    body = MultipartBody({"kind": "reference", "title": "Tệp lớn"}, "tai-lieu-lon.pdf", big_pdf_chunks(size), size)
    t0 = time.perf_counter()
    r = s.post(f"{server.base}/api/v1/meetings/{meeting}/documents", data=body,
               headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    elapsed = time.perf_counter() - t0
    stop.set()
    sampler.join()
    after_rss, after_hwm = rss_kb(pid)
    if r.status_code != 201:
        raise RuntimeError(f"upload failed: {r.status_code} {r.text[:300]}")
    return {
        "mb": mb, "seconds": elapsed, "mb_per_s": mb / elapsed,
        "rss_before_mb": base_rss / 1024, "rss_peak_sampled_mb": peak[0] / 1024,
        "hwm_before_mb": base_hwm / 1024, "hwm_after_mb": after_hwm / 1024,
        "growth_mb": (max(peak[0], after_hwm) - base_rss) / 1024,
    }


def make_real_pdf(path: Path, mb: int) -> Path:
    """A valid PDF of about `mb` MB: pages of incompressible noise images."""
    from PIL import Image
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    target = mb * 1024 * 1024
    written = 0
    n = 0
    while written < target * 0.78:  # reportlab stores images ASCII85-encoded (+25 %)
        img = Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=92)
        buf.seek(0)
        c.drawImage(ImageReader(buf), 40, 120, width=515, height=515)
        c.drawString(40, 60, f"Trang {n + 1}")
        c.showPage()
        n += 1
        written += len(buf.getvalue())
    c.save()
    return path


def bench_readers(server: Server, readers: int, pdf_mb: int, range_kb: int, tmp: Path) -> dict[str, float]:
    s = login(server.base, "thuky", "giaoban2026")
    meeting = s.get(server.base + "/api/v1/meetings").json()["upcoming"][0]["id"]
    pdf = make_real_pdf(tmp / "big.pdf", pdf_mb)
    size = pdf.stat().st_size
    with pdf.open("rb") as fh:
        r = s.post(f"{server.base}/api/v1/meetings/{meeting}/documents",
                   files={"file": ("Báo cáo lớn.pdf", fh, "application/pdf")}, data={"kind": "official"})
    r.raise_for_status()
    doc = r.json()["document"]
    for _ in range(600):
        latest = s.get(f"{server.base}/api/v1/documents/{doc['id']}").json()["document"]["latest"]
        if latest["state"] in ("ready", "failed"):
            break
        time.sleep(0.1)
    if latest["state"] != "ready":
        raise RuntimeError(f"20 MB PDF not ready: {latest}")
    s.post(f"{server.base}/api/v1/documents/{doc['id']}/publish", json={"to_all": True}).raise_for_status()
    reader = login(server.base, "daibieu.stc", "giaoban2026")
    cookies = reader.cookies.get_dict()
    url = server.base + latest["urls"]["pdf"]
    chunk = range_kb * 1024
    latencies: list[float] = []
    lock = threading.Lock()

    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    agent = reader.headers["User-Agent"]  # Flask-Login "strong" sessions are bound to it

    def read_all(_: int) -> int:
        """One reader: a keep-alive connection (as a browser has) asking range after range."""
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        got = 0
        try:
            for start in range(0, size, chunk):
                end = min(size, start + chunk) - 1
                t0 = time.perf_counter()
                conn.request("GET", path, headers={"Range": f"bytes={start}-{end}", "Cookie": cookie,
                                                    "User-Agent": agent})
                resp = conn.getresponse()
                body = resp.read()
                dt = time.perf_counter() - t0
                if resp.status != 206 or len(body) != end - start + 1:
                    raise RuntimeError(f"bad range answer {resp.status}")
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
                got += len(body)
                with lock:
                    latencies.append(dt)
        finally:
            conn.close()
        return got

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=readers) as pool:
        total = sum(pool.map(read_all, range(readers)))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    return {
        "readers": readers, "pdf_mb": size / 1048576, "range_kb": range_kb, "seconds": elapsed,
        "total_mb": total / 1048576, "mb_per_s": total / 1048576 / elapsed,
        "requests": len(latencies), "req_per_s": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
        "max_ms": 1000 * latencies[-1],
    }


def prepare(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "GIAOBAN_INSTANCE": str(tmp / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite'}",
        "GIAOBAN_STORAGE_DIR": str(tmp / "storage"),
        "GIAOBAN_MAX_UPLOAD_MB": "300",
    })
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, str(ROOT / "bench" / "demo_db.py"), env["DATABASE_URL"]],
                   env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upload-mb", type=int, default=200)
    parser.add_argument("--readers", type=int, default=100)
    parser.add_argument("--pdf-mb", type=int, default=20)
    parser.add_argument("--range-kb", type=int, default=1024)
    parser.add_argument("--server", choices=("gunicorn", "werkzeug"), default="gunicorn")
    parser.add_argument("--skip-upload", action="store_true")
    parser.add_argument("--skip-readers", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="giaoban-docbench-"))
    try:
        env = prepare(tmp)
        if not args.skip_upload:
            server = Server(args.server, env)
            try:
                up = bench_upload(server, args.upload_mb)
            finally:
                server.stop()
            print(f"upload {up['mb']} MB through {args.server}: {up['seconds']:.1f} s "
                  f"({up['mb_per_s']:.0f} MB/s); web process RSS {up['rss_before_mb']:.0f} MB before, "
                  f"peak {max(up['rss_peak_sampled_mb'], up['hwm_after_mb']):.0f} MB "
                  f"-> grew {up['growth_mb']:.1f} MB (target < 50 MB)")
        if not args.skip_readers:
            env_eager = dict(env, BENCH_EAGER="1")
            server = Server(args.server, env_eager)
            try:
                rd = bench_readers(server, args.readers, args.pdf_mb, args.range_kb, tmp)
            finally:
                server.stop()
            print(f"{rd['readers']} readers x {rd['pdf_mb']:.1f} MB PDF in {rd['range_kb']} KB ranges: "
                  f"{rd['seconds']:.1f} s, {rd['total_mb']:.0f} MB served, {rd['mb_per_s']:.0f} MB/s, "
                  f"{rd['requests']} requests ({rd['req_per_s']:.0f}/s), latency p50 {rd['p50_ms']:.0f} ms, "
                  f"p95 {rd['p95_ms']:.0f} ms, max {rd['max_ms']:.0f} ms")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
