-- Demo entity tables for the vendor_products connector. Idempotent.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS smartconnector;

CREATE TABLE IF NOT EXISTS public.vendors (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code text NOT NULL UNIQUE,
    name text
);

CREATE TABLE IF NOT EXISTS public.products (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku       text NOT NULL UNIQUE,
    name      text,
    price     numeric(12, 2),
    launched  date,
    tags      text[],
    source    text,
    vendor_id bigint REFERENCES public.vendors (id),
    archived  boolean NOT NULL DEFAULT false
);

CREATE OR REPLACE FUNCTION public.on_products_loaded(execution_id bigint, step text, created bigint[], updated bigint[])
RETURNS void LANGUAGE sql AS $$ SELECT $$;
