"""Service-call and opinion-card rules (R33), pure.

A call is recorded (open), visited on site (visited: outcome, first-time fix, an opinion card
issued), then closed; or cancelled with a reason before the visit. Who may do what in which
status is `call_actions`: the call page shows each action (disabled with the reason a rule
gives), the services refuse with the same words. Time limits run in real hours from the
recorded instant (24 h is 24 h across midnight and month ends); people read China time (R3)."""
from __future__ import annotations

from datetime import datetime, timedelta

from dealers.rules import Refusal

VISIT_WITHIN = timedelta(hours=24)  # R33: on site within 24 hours of the call

def visit_due(called_at: datetime) -> datetime:
    """R33: the latest instant the visit may start."""
    return called_at + VISIT_WITHIN


def visit_breached(called_at: datetime, visited_at: datetime | None, now: datetime) -> bool:
    """R33: visited later than 24 h after the call, or not yet visited and already late."""
    return (visited_at or now) > visit_due(called_at)


CALL_OUTCOMES = ("fixed", "parts", "not_fixed", "no_fault")
CARD_SCORES = ("attitude", "skill", "punctuality")
SCORE_MIN, SCORE_MAX = 1, 5
CARD_COMMENTS_MAX = 1000


def area_matches(area: str, coverage_area: str) -> bool:
    """R33: the customer's area (a city or district as typed) lies in a point's coverage area
    when the coverage text contains it, ignoring case and surrounding spaces."""
    wanted = (area or "").strip().casefold()
    return bool(wanted) and wanted in (coverage_area or "").casefold()


def route_call(area: str, points: list[dict]) -> int | None:
    """R33: the repair point that serves a call from `area`, among `points` (the approved,
    active points the recorder may route to: each {id, coverage_area, open_calls}): the one
    whose coverage matches, the one with the fewest open calls when several do (the lowest id
    on a tie); None when none matches (the recorder chooses)."""
    matching = [p for p in points if area_matches(area, p["coverage_area"])]
    if not matching:
        return None
    return min(matching, key=lambda p: (p["open_calls"], p["id"]))["id"]


def score_problems(scores: dict[str, int | None]) -> dict[str, str]:
    """R33: attitude, skill and punctuality are each scored 1 to 5; a message per bad field."""
    def valid(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) \
            and SCORE_MIN <= value <= SCORE_MAX

    return {name: "Choose a score from 1 to 5." for name in CARD_SCORES
            if not valid(scores.get(name))}


def call_actions(*, status: str, own_point: bool, may_record: bool, card_filled: bool | None
                 ) -> dict[str, Refusal | None]:
    """R33: what this person may do with a call in `status`: action -> None when allowed, or
    the Refusal a rule gives. `own_point`: the person is staff of the repair point that serves
    the call; `may_record`: a role that records calls (the point's staff, an office's clerk or
    manager, HQ customer service) in whose scope the call lies; `card_filled`: None while no
    card is issued. Actions of other roles are absent (the service answers Forbidden)."""
    if not (own_point or may_record):
        return {}
    actions: dict[str, Refusal | None] = {}
    if status == "open":
        actions["visit"] = None if own_point else Refusal(
            "Only the staff of the repair point that serves the call record its visit.")
        actions["close"] = Refusal("Record the visit before closing the call.")
        actions["cancel"] = None
    elif status == "visited":
        actions["close"] = None
        actions["cancel"] = Refusal("The visit is recorded: close the call instead of "
                                    "cancelling it.")
    if status in ("visited", "closed") and card_filled is not None:
        actions["card"] = Refusal("The customer has already filled in the opinion card.") \
            if card_filled else None
    return actions

