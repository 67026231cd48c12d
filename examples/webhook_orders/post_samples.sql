-- Posts three sample orders the way PostgREST would: in one transaction per
-- call, the request settings PostgREST sets (role from the JWT, its claims,
-- method, path, headers), then the exposed function with the raw body.
-- Usage: psql -v ON_ERROR_STOP=1 -f post_samples.sql (as a role that may SET ROLE shop_sender).
-- The third call updates the first order: the connector matches orders by order_id.

BEGIN;
SELECT set_config('role', 'shop_sender', true), set_config('request.jwt.claims', '{"role": "shop_sender", "sub": "shop", "sc_connector": "webhook_orders"}', true),
       set_config('request.method', 'POST', true), set_config('request.path', '/rpc/webhook', true),
       set_config('request.headers', '{"content-type": "application/json", "user-agent": "ShopHooks/2"}', true), set_config('request.cookies', '{}', true);
SELECT sc_api.webhook('{"order_id": "A-1001", "customer": {"email": "Ann@Example.com"}, "total": 42.50,
                        "lines": [{"sku": "TEA-1", "qty": 2}, {"sku": "CUP-3", "qty": 1}]}'::json);
COMMIT;

BEGIN;
SELECT set_config('role', 'shop_sender', true), set_config('request.jwt.claims', '{"role": "shop_sender", "sub": "shop", "sc_connector": "webhook_orders"}', true),
       set_config('request.method', 'POST', true), set_config('request.path', '/rpc/webhook', true),
       set_config('request.headers', '{"content-type": "application/json", "user-agent": "ShopHooks/2"}', true), set_config('request.cookies', '{}', true);
SELECT sc_api.webhook('{"order_id": "A-1002", "customer": {"email": "bo@example.com"}, "total": 9.90,
                        "lines": [{"sku": "TEA-2", "qty": 3}]}'::json);
COMMIT;

BEGIN;
SELECT set_config('role', 'shop_sender', true), set_config('request.jwt.claims', '{"role": "shop_sender", "sub": "shop", "sc_connector": "webhook_orders"}', true),
       set_config('request.method', 'POST', true), set_config('request.path', '/rpc/webhook', true),
       set_config('request.headers', '{"content-type": "application/json", "user-agent": "ShopHooks/2"}', true), set_config('request.cookies', '{}', true);
SELECT sc_api.webhook('{"order_id": "A-1001", "customer": {"email": "ann@example.com"}, "total": 45.00,
                        "lines": [{"sku": "TEA-1", "qty": 3}, {"sku": "CUP-3", "qty": 1}]}'::json);
COMMIT;
