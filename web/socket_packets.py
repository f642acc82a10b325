"""Socket.IO packets that cannot be decoded still reach a handler, so that the client gets
an answer instead of silence.

python-socketio decodes a packet (``socketio.packet.Packet.decode``) before any handler
runs: the type, the namespace and the acknowledgement id come first, then the JSON. When
the JSON fails (nested too deep for Python: ``web.security.SafeJSON`` turns the
RecursionError into a ValueError; or not JSON at all), the server used to drop the packet
(``Server._handle_eio_message`` lets the error go up to the engine, which logs it). This
packet class keeps what was read before the JSON and turns the event into ``UNDECODABLE``
on the same namespace with the same acknowledgement id; each namespace answers it in its
own documented way (/room: ``invalid`` + ``room_error``; /signal: ``bad_request`` +
``error``). The connection stays open and usable.
"""

from __future__ import annotations

import logging
from typing import Any

from socketio import packet

logger = logging.getLogger(__name__)

UNDECODABLE = "_undecodable"


class TolerantPacket(packet.Packet):
    """``socketio.Server(serializer=TolerantPacket)``."""

    def decode(self, encoded_packet: Any) -> int:
        try:
            return int(super().decode(encoded_packet))
        except ValueError as exc:
            if self.packet_type != packet.EVENT:
                raise
            logger.info("undecodable Socket.IO event on %s (ack id %s): %s",
                        self.namespace or "/", self.id, exc)
            self.data = [UNDECODABLE, {"reason": str(exc)[:200]}]
            return 0
