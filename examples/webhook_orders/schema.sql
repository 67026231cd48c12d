-- The tables the webhook_orders example loads, and the role its sender posts as.
CREATE TABLE IF NOT EXISTS public.shop_orders (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id    text NOT NULL UNIQUE,
    email       text,
    total       numeric(12, 2),
    received_at timestamptz
);
CREATE TABLE IF NOT EXISTS public.shop_order_lines (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id text NOT NULL,
    sku      text NOT NULL,
    qty      integer,
    UNIQUE (order_id, sku)
);
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shop_sender') THEN
        CREATE ROLE shop_sender NOLOGIN;
    END IF;
END $$;
GRANT sc_webhook TO shop_sender;
