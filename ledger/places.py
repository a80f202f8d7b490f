"""Placing a ledger row by its address when it has no coordinates.

Ledgers rarely carry coordinates, but their addresses usually name the community (社区) or the
street (街道). The names of the active generation's communities and streets are looked for in the
address text — the full name ("星海湾街道星海湾社区") or the name without its suffix ("星海湾")
when that is at least two characters long. A community beats a street; a community whose street is
named too beats one whose is not; the longer name wins; a tie between two different areas is no
answer. The result is an area code (community: 12 digits, street: 9) for the case's
jurisdiction; the cell stays empty, since a name does not say which cell.
"""

from __future__ import annotations

from grid.models import Community, Generation, Street

SUFFIXES = ("社区居民委员会", "社区居委会", "居民委员会", "居委会", "社区", "街道办事处", "街道")
MIN_KEY = 2


def _keys(name: str) -> list[tuple[str, bool]]:
    """(text to look for, is the full name) for one area name."""
    name = name.strip()
    keys = [(name, True)] if name else []
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= MIN_KEY:
            keys.append((name[: -len(suffix)], False))
            break
    return keys


class AddressPlaces:
    """Community and street names of the active generation, loaded once per run."""

    def __init__(self) -> None:
        generation = Generation.objects.filter(status=Generation.Status.ACTIVE).first()
        self.streets: list[tuple[str, bool, str]] = []
        self.communities: list[tuple[str, bool, str, str]] = []
        if generation is None:
            return
        for code, name in Street.objects.filter(generation=generation).values_list("code", "name"):
            self.streets += [(key, full, code) for key, full in _keys(name)]
        rows = Community.objects.filter(generation=generation).values_list(
            "code", "name", "street__code"
        )
        for code, name, street_code in rows:
            self.communities += [(key, full, code, street_code) for key, full in _keys(name)]

    @staticmethod
    def _best(candidates: list[tuple[tuple, str]]) -> str | None:
        if not candidates:
            return None
        top = max(score for score, _code in candidates)
        codes = {code for score, code in candidates if score == top}
        return codes.pop() if len(codes) == 1 else None

    def match(self, address: str) -> str | None:
        """The area code the address names, or None."""
        text = "".join((address or "").split())
        if not text:
            return None
        streets = [((full, len(key)), code) for key, full, code in self.streets if key in text]
        named_streets = {code for _score, code in streets}
        communities = [
            ((full, street in named_streets, len(key)), code)
            for key, full, code, street in self.communities
            if key in text
        ]
        return self._best(communities) or self._best(streets)
