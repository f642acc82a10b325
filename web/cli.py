"""`flask --app web:create_app giaoban ...` commands: migrate, demo."""

from __future__ import annotations

import logging

import click
from flask import Flask, current_app

from core.settings import ROOT

logger = logging.getLogger(__name__)


def run_migrations(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    command.upgrade(cfg, "head")


def init_app(app: Flask) -> None:
    group = click.Group("giaoban", help="giaoban administration")

    @group.command("migrate")
    def migrate() -> None:
        """Apply every Alembic migration."""
        run_migrations(current_app.config["DATABASE_URL"])
        click.echo("migrations applied")

    @group.command("demo")
    def demo() -> None:
        """Create the demo province (once)."""
        from meetings.demo import DEMO_PASSWORD, create_demo
        from web.extensions import db

        meeting = create_demo(db.session)
        db.session.commit()
        if meeting is None:
            click.echo("demo province already present")
        else:
            click.echo(f"demo province created; meeting {meeting.id}; password {DEMO_PASSWORD}")

    app.cli.add_command(group)
