from __future__ import annotations

import json


def _has(page: str, text: str) -> bool:
    """In the HTML itself or in the JSON blob of the page's strings (escaped)."""
    return text in page or json.dumps(text)[1:-1] in page


def test_room_page_speaks_the_users_language(login, live_meeting):
    chair = login("chutri")
    page = chair.get(f"/meetings/{live_meeting}/room").get_data(as_text=True)
    assert _has(page, "Bàn điều khiển chủ trì") and _has(page, "Mở biểu quyết")
    page = chair.get(f"/meetings/{live_meeting}/room?lang=en").get_data(as_text=True)
    assert _has(page, "Chair console") and _has(page, "Open a vote")
    assert not _has(page, "Mở biểu quyết") and not _has(page, "Bàn điều khiển chủ trì")
