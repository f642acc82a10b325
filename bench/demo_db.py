"""The database a bench starts from: migrated, with the demo province of ``meetings.demo``.

Imported by the benches (``from demo_db import demo_database``, with ``bench/`` on
``sys.path`` or the repository root and ``bench.demo_db``), or run on its own::

    python bench/demo_db.py sqlite:////tmp/bench.sqlite [--live]

which prints the demo meeting's id.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def demo_database(url: str, *, live: bool = False, fresh: bool = False) -> int:
    """Migrate ``url``, create the demo province and return its meeting's id.

    ``live``: the chair has opened the meeting (the room accepts media). ``fresh``: a
    PostgreSQL database's ``public`` schema is emptied first (SQLite benches use a new
    file instead)."""
    from sqlalchemy import select, text

    from meetings.actions import meetings as meeting_actions
    from meetings.db import make_engine, make_session_factory
    from meetings.demo import create_demo
    from meetings.models import User
    from web.cli import run_migrations

    engine = make_engine(url)
    try:
        if fresh and engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        run_migrations(url)
        with make_session_factory(engine)() as session:
            meeting = create_demo(session)
            if meeting is None:
                raise RuntimeError(f"{url} already holds the demo province")
            if live:
                chair = session.scalar(select(User).where(User.username == "chutri"))
                meeting_actions.change_status(session, chair, meeting, "live")
            session.commit()
            return meeting.id
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="SQLAlchemy database URL")
    parser.add_argument("--live", action="store_true", help="open the demo meeting")
    parser.add_argument("--fresh", action="store_true", help="empty a PostgreSQL schema first")
    args = parser.parse_args()
    print(demo_database(args.url, live=args.live, fresh=args.fresh))


if __name__ == "__main__":
    main()
