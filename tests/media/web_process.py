"""One web process for the two-process test: ``python web_process.py PORT [HOST]``.

Reads DATABASE_URL, REDIS_URL (message queue and shared media-link store), SECRET_KEY,
GIAOBAN_MEDIA_SECRET and GIAOBAN_INSTANCE from the environment."""

from __future__ import annotations

import os
import sys

from werkzeug.serving import make_server

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from web import create_app  # noqa: E402


def main() -> None:
    port = int(sys.argv[1])
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"  # a test's veth address
    app = create_app({"DATABASE_URL": os.environ["DATABASE_URL"]})
    server = make_server(host, port, app, threaded=True)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
