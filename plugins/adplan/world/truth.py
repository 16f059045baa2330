"""Ground truth files, streamed a chunk at a time: who every record is, and what every person is like.

``record_person.parquet``  source, record_id, person_id: every well-formed record of crm_customers,
                           orders, publisher_audience and identity_events, and every ad-log device
                           (source ad_devices) and cookie (source ad_cookies).
``people.parquet``         one row per person: latent traits, true contact keys, exposure and outcome
                           (columns: PEOPLE_SCHEMA).
``malformed_rows.parquet`` every deliberately malformed landing row: file, line number (header = 1),
                           kind, spoilt column, and the id and person of the good record it copies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from adplan.world import vocab
from adplan.world.effects import BASELINE, NOT_CONVERTED
from adplan.world.schema import CHANNELS, COOKIE_SOURCE, DEVICE_SOURCE
from adplan.world.textops import joined_flags, pick

if TYPE_CHECKING:
    from adplan.world.chunk import Chunk
    from adplan.world.malformed import Malformed

RECORD_PERSON_SCHEMA = pa.schema(
    [("source", pa.string()), ("record_id", pa.string()), ("person_id", pa.int64())]
)
MALFORMED_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("file", pa.string()),
        ("line_number", pa.int64()),
        ("kind", pa.string()),
        ("column", pa.string()),
        ("record_id", pa.string()),
        ("person_id", pa.int64()),
    ]
)
PEOPLE_SCHEMA = pa.schema(
    [
        ("person_id", pa.int64()),
        ("persona", pa.string()),
        ("value_tier", pa.string()),  # low / mid / high
        ("lookalike_group", pa.bool_()),  # same persona as the best customers
        ("propensity", pa.float64()),  # chance of an order in the window without advertising
        ("in_crm", pa.bool_()),
        ("crm_records", pa.int8()),
        ("lapsed", pa.bool_()),
        ("publisher_records", pa.int8()),
        ("email", pa.string()),  # normalized
        ("email_sha256", pa.string()),
        ("work_email", pa.string()),
        ("work_email_sha256", pa.string()),
        ("phone_e164", pa.string()),
        ("phone_sha256", pa.string()),
        ("age", pa.int16()),
        ("age_band", pa.string()),
        ("region", pa.string()),
        ("international", pa.bool_()),
        ("interests", pa.string()),  # true interests, ';'-separated
        ("devices", pa.int8()),
        ("identity_linked", pa.bool_()),  # has identity events
        *[(f"impressions_{channel}", pa.int32()) for channel in CHANNELS],
        ("clicks", pa.int32()),
        ("exposed", pa.bool_()),
        ("resolvable", pa.bool_()),  # an ad-log id of theirs is linked to their email by identity events
        ("history_orders", pa.int32()),
        ("converted", pa.bool_()),  # ordered in the window
        ("conversion_cause", pa.string()),  # a channel (incremental), "baseline", or null
        ("conversion_value", pa.float64()),
    ]
)


class TruthWriter:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._record_person = pq.ParquetWriter(
            directory / "record_person.parquet", RECORD_PERSON_SCHEMA, compression="zstd"
        )
        self._people = pq.ParquetWriter(directory / "people.parquet", PEOPLE_SCHEMA, compression="zstd")
        self._malformed = pq.ParquetWriter(
            directory / "malformed_rows.parquet", MALFORMED_SCHEMA, compression="zstd"
        )

    def add_chunk(self, chunk: Chunk) -> None:
        """The chunk's record -> person rows and its people."""
        person_id = chunk.people.person_id
        slot_people = person_id[chunk.slots.person_row()]
        used = pa.array(np.flatnonzero(chunk.slots.used))
        parts = [
            ("crm_customers", chunk.crm.customer_ids, person_id[chunk.crm.person_row]),
            ("orders", chunk.orders.order_ids, person_id[chunk.orders.person_row]),
            ("publisher_audience", chunk.audience.record_ids, person_id[chunk.audience.person_row]),
            ("identity_events", chunk.events.event_ids, person_id[chunk.events.person_row]),
            (DEVICE_SOURCE, chunk.slots.device_id.take(used), slot_people),
            (COOKIE_SOURCE, chunk.slots.cookie_id.take(used), slot_people),
        ]
        for source, record_ids, people in parts:
            table = pa.table(
                {
                    "source": pa.array([source] * len(record_ids), pa.string()),
                    "record_id": record_ids,
                    "person_id": pa.array(people, pa.int64()),
                },
                schema=RECORD_PERSON_SCHEMA,
            )
            self._record_person.write_table(table)
        self._people.write_table(people_table(chunk))

    def add_malformed(
        self,
        source: str,
        file: str,
        malformed: Malformed,
        record_ids: pa.Array,
        person_ids: np.ndarray | None,
    ) -> None:
        """The malformed rows of one part: ``record_ids`` and ``person_ids`` are per good row of the part."""
        count = len(malformed)
        if not count:
            return
        copied = malformed.copied_rows
        persons = (
            pa.nulls(count, pa.int64()) if person_ids is None else pa.array(person_ids[copied], pa.int64())
        )
        table = pa.table(
            {
                "source": [source] * count,
                "file": [file] * count,
                "line_number": malformed.line_numbers(),
                "kind": malformed.kinds,
                "column": malformed.columns,
                "record_id": record_ids.cast(pa.string()).take(pa.array(copied)),
                "person_id": persons,
            },
            schema=MALFORMED_SCHEMA,
        )
        self._malformed.write_table(table)

    def write_json(self, name: str, document: dict) -> Path:
        path = self.directory / name
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        return path

    def close(self) -> None:
        for writer in (self._record_person, self._people, self._malformed):
            writer.close()


def people_table(chunk: Chunk) -> pa.Table:
    people, identity, exposures = chunk.people, chunk.identity, chunk.exposures
    cause = chunk.cause
    converted = cause != NOT_CONVERTED
    interests, no_interest = joined_flags(people.interests, vocab.INTERESTS)
    cause_text = pick((*CHANNELS, "baseline"), np.where(converted, cause, BASELINE))
    columns = {
        "person_id": people.person_id,
        "persona": pick([persona["name"] for persona in vocab.PERSONAS], people.persona),
        "value_tier": pick(vocab.VALUE_TIERS, people.value_tier),
        "lookalike_group": people.lookalike_group,
        "propensity": people.propensity,
        "in_crm": people.in_crm,
        "crm_records": people.crm_records,
        "lapsed": people.lapsed,
        "publisher_records": chunk.per_person(chunk.audience.person_row),
        "email": identity.email,
        "email_sha256": identity.email_sha256,
        "work_email": identity.work_email,
        "work_email_sha256": identity.work_email_sha256,
        "phone_e164": identity.phone_e164,
        "phone_sha256": identity.phone_sha256,
        "age": people.age,
        "age_band": pick(vocab.AGE_BANDS, people.age_band),
        "region": pick(vocab.REGIONS, people.region),
        "international": people.address.international,
        "interests": pc.if_else(pa.array(no_interest), pa.scalar(None, pa.string()), interests),
        "devices": people.devices,
        "identity_linked": chunk.per_person(chunk.events.person_row) > 0,
        **{f"impressions_{channel}": exposures[:, index] for index, channel in enumerate(CHANNELS)},
        "clicks": chunk.per_person(chunk.clicks.person_row),
        "exposed": exposures.sum(axis=1) > 0,
        "resolvable": chunk.resolvable,
        "history_orders": chunk.orders.history_orders,
        "converted": converted,
        "conversion_cause": pc.if_else(pa.array(converted), cause_text, pa.scalar(None, pa.string())),
        "conversion_value": chunk.orders.window_value_cents / 100.0,
    }
    return pa.table(
        {name: _typed(value, PEOPLE_SCHEMA.field(name).type) for name, value in columns.items()},
        schema=PEOPLE_SCHEMA,
    )


def _typed(value: np.ndarray | pa.Array, type_: pa.DataType) -> pa.Array:
    return pa.array(value, type_) if isinstance(value, np.ndarray) else value.cast(type_)
