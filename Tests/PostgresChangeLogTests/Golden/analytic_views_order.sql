CREATE OR REPLACE VIEW "public"."va_order" AS
SELECT c.id AS _change_id, c.event_id AS _event_id, c.operation AS _operation,
       c.occurred_at AS _occurred_at, c.tenant_id AS _tenant_id, c.txid::text::bigint AS _txid,
    (i.image ->> 'id')::bigint AS "id",
    (i.image ->> 'customer')::text AS "customer",
    (i.image ->> 'total')::numeric(10,2) AS "total",
    (i.image ->> 'placed_at')::timestamp with time zone AS "placed_at",
    CASE WHEN jsonb_typeof(i.image -> 'tags') = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(i.image -> 'tags'))::text[] END AS "tags",
    NULLIF(i.image -> 'details', 'null'::jsonb)::jsonb AS "details",
    (i.image ->> 'Odd "name"')::integer AS "Odd ""name"""
  FROM fraiseql_observer.change_log c
 CROSS JOIN LATERAL (SELECT coalesce(c.after, c.before) AS image) i
 WHERE c.entity_type = 'order';

CREATE TABLE IF NOT EXISTS "public"."ta_order" AS SELECT * FROM "public"."va_order" WITH NO DATA;

DO $pk$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint
                    WHERE conrelid = to_regclass('"public"."ta_order"') AND contype = 'p') THEN
        ALTER TABLE "public"."ta_order" ADD PRIMARY KEY (_change_id);
    END IF;
END $pk$;

CREATE TABLE IF NOT EXISTS "public"."ta_order_refresh_state" (watermark BIGINT NOT NULL);

CREATE OR REPLACE FUNCTION "public"."ta_order_refresh"() RETURNS BIGINT LANGUAGE plpgsql AS $refresh$
DECLARE
    since BIGINT;
    mark BIGINT;
    added BIGINT;
BEGIN
    -- One refresh at a time; a second one waits, then finds little to do.
    PERFORM pg_advisory_xact_lock(hashtext('"public"."ta_order"'));
    SELECT watermark INTO since FROM "public"."ta_order_refresh_state";
    -- Before reading: every transaction older than this had ended, so the next run
    -- rereads from here and finds what commits after this read.
    mark := pg_snapshot_xmin(pg_current_snapshot())::text::bigint;
    INSERT INTO "public"."ta_order" SELECT v.* FROM "public"."va_order" v WHERE since IS NULL OR v._txid >= since
        ON CONFLICT (_change_id) DO NOTHING;
    GET DIAGNOSTICS added = ROW_COUNT;
    DELETE FROM "public"."ta_order_refresh_state";
    INSERT INTO "public"."ta_order_refresh_state" (watermark) VALUES (mark);
    RETURN added;
END
$refresh$;
