"""giaoban media node: forwards encoded WebRTC media without re-encoding.

Runs as its own asyncio process (``python -m media``). Never imports Flask.
"""
