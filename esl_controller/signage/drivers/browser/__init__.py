"""The browser player channel: pages at /screen, reached through the web process
(Server-Sent Events down, HTTP posts up, the database between; docs/screens.md)."""

from __future__ import annotations

from esl_controller import db
from esl_controller.signage.channel_registry import ChannelContext
from esl_controller.signage.drivers.browser.channel import BrowserPlayerChannel


def create_channel(context: ChannelContext) -> BrowserPlayerChannel:
    """The entry point `browser` of `esl_controller.player_channels`."""
    engine = context.engine
    if engine is None:
        engine = db.make_engine(context.settings.resolved_database_url)
    return BrowserPlayerChannel(engine, context.settings.store_id)


__all__ = ["BrowserPlayerChannel", "create_channel"]
