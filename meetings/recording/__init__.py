"""Recording, domain side: reading back what the media node wrote (journal + segments),
the timeline (recorded spans, chapters per agenda item, speaker turns), the program file
built from the segments, retention and the node's disk-low stop. No Flask, aiortc or
Celery here; PyAV decodes (after the meeting, never in the live path)."""
