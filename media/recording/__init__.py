"""Recording on the media node: the recorder is one more subscriber of a room's hall and
speaker slots; it writes the encoded frames it receives (no decoding, no encoding) into
Matroska/WebM segments of about ten seconds, closed and synced one after another, so that a
killed node loses at most the segment being written.

Modules: :mod:`config` (settings from the environment), :mod:`manifest` (on-disk layout and
the append-only journal the domain reads back), :mod:`bitstream` (codec headers),
:mod:`segment` (one file), :mod:`slots` (rotation per slot), :mod:`speech` (audio level to
speaking turns), :mod:`audio_level` (the only reach into aiortc internals here),
:mod:`recorder` (the subscriber) and :mod:`factory` (wiring into the node).

Only :mod:`config`, :mod:`manifest` and :mod:`speech` are free of PyAV/aiortc so that the
domain can import them.
"""
