from __future__ import annotations

from adplan.creative.segments import segments_from_rows


def test_list_columns_stored_as_json_strings_become_lists():
    (facts,) = segments_from_rows(
        [
            {
                "segment_id": "lapsed",
                "segment_name": "Lapsed buyers",
                "size": 1200,
                "top_channels": '["email", "social"]',
                "top_interests": '["outdoors"]',
                "lifecycle": "lapsed",
            }
        ]
    )
    assert facts.top_channels == ("email", "social")
    assert facts.top_interests == ("outdoors",)
