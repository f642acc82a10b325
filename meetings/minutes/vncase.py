"""Capitalisation per Decree 30/2020/NĐ-CP, Appendix II ("viết hoa trong văn bản hành chính").

The rules this module applies (each one has cases in tests/minutes/test_min_vncase.py):

- Names of people: every syllable capitalised ("Nguyễn Văn An").
- Administrative units (I.3 of Appendix II): the common noun of the kind of unit is lower
  case, every syllable of the proper name capitalised: "tỉnh Hà Tĩnh", "xã An Bình",
  "phường Bắc Sơn", "thành phố Hà Tĩnh", "thị trấn Cẩm Xuyên". When the name is a number,
  the common noun is capitalised too: "Phường 3", "Quận 1".
- Agencies (II.1): the first letter of the words naming the kind of agency is capitalised,
  then the unit as above: "Ủy ban nhân dân tỉnh Sông Hồng", "UBND xã An Bình",
  "Hội đồng nhân dân phường Bắc Sơn".
- Common nouns in the running text are lower case: "tầng 3", "hội trường", "trụ sở",
  "điểm cầu" (capitalised only at the start of a sentence or a line).

Stored names (units, endpoints, places) go through these helpers when the minutes are
built, so data typed as "Xã An Bình", "XÃ AN BÌNH" or "xã an bình" prints one way.
"""

from __future__ import annotations

import logging
import re

logger = logging.getLogger(__name__)

# common nouns of administrative units, longest first ("thành phố" before "phố")
ADMIN_KINDS = ("thành phố", "thị trấn", "thị xã", "đặc khu", "tỉnh", "huyện", "quận", "xã",
               "phường")
# how agencies of local government are written, in their canonical case
AGENCY_LEADS = {
    "ủy ban nhân dân": "Ủy ban nhân dân",
    "uỷ ban nhân dân": "Ủy ban nhân dân",
    "ubnd": "UBND",
    "hội đồng nhân dân": "Hội đồng nhân dân",
    "hđnd": "HĐND",
    "công an": "Công an",
    "văn phòng ubnd": "Văn phòng UBND",
    "văn phòng ủy ban nhân dân": "Văn phòng Ủy ban nhân dân",
}
# common nouns written in lower case inside a sentence
COMMON_NOUNS = ("điểm cầu", "hội trường", "phòng họp", "trụ sở", "tầng", "phòng", "tòa nhà",
                "nhà")
_NUMBER = re.compile(r"^\d+[A-Za-z]?$")


def syllable(word: str) -> str:
    """'bình' -> 'Bình', 'ĐỒNG' -> 'Đồng' (acronyms and numbers unchanged)."""
    if not word or _NUMBER.match(word):
        return word
    return word[:1].upper() + word[1:].lower()


def person_name(text: str) -> str:
    """'nguyễn văn an' / 'NGUYỄN VĂN AN' -> 'Nguyễn Văn An'."""
    return " ".join(syllable(w) for w in text.split())


def _proper(words: list[str]) -> str:
    return " ".join(syllable(w) for w in words)


def _starts(words: list[str], phrase: str) -> bool:
    parts = phrase.split()
    return [w.lower() for w in words[:len(parts)]] == parts


def _unit_words(words: list[str]) -> tuple[str, int] | None:
    """If ``words`` start with '<kind> <name…>', the normalised text and words used."""
    for kind in ADMIN_KINDS:
        if _starts(words, kind):
            n = len(kind.split())
            rest = words[n:]
            if not rest:
                return kind, n
            if _NUMBER.match(rest[0]):  # "Phường 3": the common noun takes the capital
                return f"{upper_first(kind)} {rest[0]}", n + 1
            return f"{kind} {_proper(rest)}", len(words)
    return None


def admin_unit(text: str) -> str:
    """A unit's name as written inside a sentence: 'Xã An Bình' -> 'xã An Bình',
    'UBND XÃ AN BÌNH' -> 'UBND xã An Bình', 'phường 3' -> 'Phường 3'. Names that are not
    of an administrative unit ('Sở Tài chính') are returned with their words unchanged."""
    words = text.split()
    if not words:
        return ""
    for lead in sorted(AGENCY_LEADS, key=lambda k: -len(k.split())):
        if _starts(words, lead):
            n = len(lead.split())
            tail = admin_unit(" ".join(words[n:]))
            return f"{AGENCY_LEADS[lead]} {tail}".strip()
    unit = _unit_words(words)
    if unit is not None:
        return unit[0]
    return " ".join(words)


def endpoint_name(text: str) -> str:
    """'Điểm cầu Xã An Bình' -> 'Điểm cầu xã An Bình' (a label: capital first letter)."""
    words = text.split()
    if _starts(words, "điểm cầu"):
        rest = " ".join(words[2:])
        return ("Điểm cầu " + admin_unit(rest)).strip()
    return upper_first(place(text))


def place(text: str) -> str:
    """A place inside a sentence: 'Tầng 3, Trụ sở UBND Tỉnh' -> 'tầng 3, trụ sở UBND tỉnh';
    'Hội trường UBND Xã An Bình' -> 'hội trường UBND xã An Bình'."""
    parts = [p.strip() for p in text.split(",")]
    out = []
    for part in parts:
        words = part.split()
        lead = ""
        for noun in COMMON_NOUNS:
            if _starts(words, noun):
                lead = noun
                words = words[len(noun.split()):]
                break
        tail = admin_unit(" ".join(words)) if words else ""
        out.append(" ".join(x for x in (lead, tail) if x))
    return ", ".join(p for p in out if p)


def position(text: str) -> str:
    """A position: 'Chủ tịch UBND Xã An Bình' -> 'Chủ tịch UBND xã An Bình'; the unit part
    (from the first agency or unit word on) is normalised, the title kept as typed."""
    words = text.split()
    for i in range(len(words)):
        rest = words[i:]
        first = rest[0].lower()
        if first in ("ubnd", "hđnd", "ủy", "uỷ", "hội") or _unit_words(rest) is not None:
            if first == "hội" and not _starts(rest, "hội đồng nhân dân"):
                continue
            if first in ("ủy", "uỷ") and not _starts(rest, first + " ban nhân dân"):
                continue
            return " ".join([*words[:i], admin_unit(" ".join(rest))]).strip()
    return " ".join(words)


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def lower_first_common(text: str) -> str:
    """Lower-case the first word only when it is a common noun ('Điểm cầu xã An Bình' ->
    'điểm cầu xã An Bình'); proper names and agencies keep their capitals."""
    words = text.split(" ")
    for noun in (*COMMON_NOUNS, *ADMIN_KINDS):
        n = len(noun.split())
        if [w.lower() for w in words[:n]] == noun.split():
            if n == 1 and len(words) > 1 and _NUMBER.match(words[1]):
                return text  # "Phường 3"
            return noun + text[len(" ".join(words[:n])):]
    return text


def title_without_agency(position_text: str) -> str:
    """The bare title of a signer, in capitals: 'Chủ tịch UBND tỉnh' -> 'CHỦ TỊCH',
    'Chánh Văn phòng UBND tỉnh' -> 'CHÁNH VĂN PHÒNG', 'Giám đốc Sở Tài chính' -> 'GIÁM ĐỐC'."""
    words = position_text.split()
    for i, w in enumerate(words):
        low = w.lower()
        if i > 0 and (low in ("ubnd", "hđnd", "sở", "bộ") or low in ("ủy", "uỷ")
                      or _unit_words(words[i:]) is not None):
            return " ".join(words[:i]).upper()
    return " ".join(words).upper()


def after_colon(text: str) -> str:
    """The first letter after a colon in lower case ('Đề nghị tỉnh …' -> 'đề nghị tỉnh …'),
    unless the sentence starts with a name ('Sở Tài chính …', 'Nguyễn Văn An …', 'UBND …'):
    a capitalised first word followed by another capitalised word, or an acronym."""
    words = text.split(" ")
    if not words or not words[0]:
        return text
    first = words[0]
    if first.isupper() and len(first) > 1:
        return text
    if len(words) > 1 and words[1][:1].isupper():
        return text
    return first[:1].lower() + text[1:]


def names_same_place(unit: str, endpoint: str) -> bool:
    """'UBND xã An Bình' and 'Điểm cầu xã An Bình' name the same place."""
    core = admin_unit(unit)
    for lead in AGENCY_LEADS.values():
        if core.startswith(lead + " "):
            core = core[len(lead) + 1:]
            break
    return core.lower() in endpoint.lower()
