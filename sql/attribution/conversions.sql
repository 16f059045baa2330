-- Conversions: orders, each with the person of its identity-graph record (source orders, record_id =
-- order_id) or, failing that, of its CRM customer (source crm_customers, record_id = customer_id).
-- The input of journeys.sql.
--
-- One row per order: person_id, ts (order_ts), value (order_value as double), order_id, currency,
-- sales_channel. No email, phone or their hashes.
--   * Orders are read from every partition up to ds, keeping the latest delivered version of each
--     order_id; orders after the end of ds are ignored. The graph is read at its latest partition on or
--     before ds.
--   * Orders without a person are dropped, unless params.keep_unresolved (person_id NULL then).
--
-- Params (all optional): history_days (only orders in the history_days before the end of ds; older
-- partitions are pruned too), sales_channels (list: only these sales channels), keep_unresolved
-- (false), orders_table ('curated_orders'), graph_table ('identity_graph').
{%- set orders_table = params.orders_table | default('curated_orders', true) %}
{%- set graph_table = params.graph_table | default('identity_graph', true) %}
{%- set history_days = params.history_days | default(none) %}
{%- set sales_channels = params.sales_channels | default(none) %}
{%- set as_of = "CAST(DATE '" ~ ds ~ "' + INTERVAL '1' DAY AS timestamp)" %}
WITH graph AS (
    SELECT source, record_id, min(person_id) AS person_id
    FROM {{ graph_table }}
    WHERE dt = (SELECT max(dt) FROM {{ graph_table }} WHERE dt <= '{{ ds }}')
      AND source IN ('orders', 'crm_customers')
      AND person_id IS NOT NULL
    GROUP BY source, record_id
),

orders AS (
    SELECT order_id, customer_id, order_ts, order_value, currency, sales_channel
    FROM (
        SELECT
            order_id, customer_id, order_ts, order_value, currency, sales_channel,
            row_number() OVER (
                PARTITION BY order_id ORDER BY dt DESC, source_file DESC, source_row DESC
            ) AS version_rank
        FROM {{ orders_table }}
        WHERE dt <= '{{ ds }}'
          AND order_id IS NOT NULL
          AND order_ts < {{ as_of }}
          {%- if history_days is not none %}
          AND order_ts >= {{ as_of }} - INTERVAL '{{ history_days | int }}' DAY
          AND dt >= CAST(DATE '{{ ds }}' - INTERVAL '{{ (history_days | int) + 1 }}' DAY AS varchar)
          {%- endif %}
          {%- if sales_channels %}
          AND sales_channel IN ({% for channel in sales_channels %}'{{ channel | replace("'", "''") }}'{% if not loop.last %}, {% endif %}{% endfor %})
          {%- endif %}
    ) AS versions
    WHERE version_rank = 1
)

SELECT
    coalesce(by_order.person_id, by_customer.person_id) AS person_id,
    o.order_ts AS ts,
    CAST(o.order_value AS double) AS value,
    o.order_id,
    o.currency,
    o.sales_channel
FROM orders AS o
LEFT JOIN graph AS by_order ON by_order.source = 'orders' AND by_order.record_id = o.order_id
LEFT JOIN graph AS by_customer
    ON by_customer.source = 'crm_customers' AND by_customer.record_id = o.customer_id
{%- if not params.keep_unresolved | default(false) %}
WHERE coalesce(by_order.person_id, by_customer.person_id) IS NOT NULL
{%- endif %}
