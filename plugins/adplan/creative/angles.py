"""Creative angles: which story each variant tells a segment, chosen from the segment's facts.

The same angle list feeds the prompt (so a real model writes variants that differ on purpose) and the
local generator (which writes from the angle it is given), so variants differ per segment on both targets.
"""

from __future__ import annotations

from adplan.creative.config import GenerationConfig
from adplan.creative.segments import SegmentFacts

# angle -> the instruction a prompt gives for it
ANGLES: dict[str, str] = {
    "welcome": "Welcome people who have just found the brand; make the first order feel easy.",
    "loyalty": "Thank regular customers and make the offer feel like a reward for sticking with us.",
    "winback": "Invite people who have not ordered for a while back; acknowledge the time away, no guilt.",
    "premium": "Speak to customers who buy quality; stress craft, durability and getting it first.",
    "interest": "Connect the product to the segment's top interest.",
    "offer": "Lead with the offer, plainly.",
    "value": "Stress lasting value for money; the offer makes good gear easier to justify.",
}
LIFECYCLE_ANGLES = {"new": "welcome", "loyal": "loyalty", "lapsed": "winback", "high_value": "premium"}


def angles_for(segment: SegmentFacts, generation: GenerationConfig) -> list[str]:
    """The segment's angles, most fitting first: lifecycle (or recency), interest, offer, spend level."""
    angles = []
    primary = LIFECYCLE_ANGLES.get(segment.lifecycle)
    if primary is None and (segment.median_recency_days or 0) >= generation.lapsed_after_days:
        primary = "winback"
    if primary:
        angles.append(primary)
    if segment.top_interests:
        angles.append("interest")
    angles.append("offer")
    big_spenders = (segment.avg_order_value or 0) >= generation.premium_order_value
    angles.append("premium" if big_spenders else "value")
    return list(dict.fromkeys(angles))


def angle_for_variant(segment: SegmentFacts, variant: int, generation: GenerationConfig) -> str:
    angles = angles_for(segment, generation)
    return angles[(variant - 1) % len(angles)]


def interest_for_variant(segment: SegmentFacts, variant: int) -> str | None:
    """Variants of the same segment rotate through its top interests."""
    if not segment.top_interests:
        return None
    return segment.top_interests[(variant - 1) % len(segment.top_interests)]
