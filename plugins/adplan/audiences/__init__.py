"""Audience analysis, enrichment and activation (the engine of the audience_analysis DAG).

Jobs (``adplan.audiences.jobs``; each ``fn(ds, **params) -> dict`` of counts, never personal data)::

    build_profiles(ds)                       -> profiles
    build_segments(ds, segments="all")       -> segments, segment_members, segment_overlap
    score_lookalikes(ds, seed_segment=...)   -> lookalike_scores (+ model JSON)
    enrich_segments(ds, segments="all")      -> segment_enrichment (clean-room LIST query)
    export_activation(ds, segments="all", destinations="all") -> activation files + activation_exports

Engines (plain functions over a DuckDB connection; no Airflow, no boto3):

* ``profiles``: unified profiles from ``sql/audiences/profile_base.sql`` + ``clv`` (BG/NBD, Gamma-Gamma);
* ``rules`` / ``segments`` / ``clusters``: segments.yaml rules (sqlglot-whitelisted), k-means clusters,
  descriptions and overlaps;
* ``lookalike``: seed-vs-rest model on publisher-side features, ``LookalikeModel.score(frame)``;
* ``enrichment``: the clean-room list query and its per-segment summary, through a query runner;
* ``activation``: hashed-identifier files per destination (activation.yaml) with manifests.
"""
