-- A customer with no money history can be deleted; their payment link and any payment request
-- that came to nothing (declined, expired) go with them. A request that was paid has a payment,
-- and a customer with payments is archived, never deleted, so no money record is lost.
alter table payment_links
    drop constraint payment_links_tenant_id_customer_id_fkey,
    add constraint payment_links_tenant_id_customer_id_fkey foreign key (tenant_id, customer_id)
        references customers (tenant_id, id) on delete cascade;

alter table payment_requests
    drop constraint payment_requests_tenant_id_customer_id_fkey,
    add constraint payment_requests_tenant_id_customer_id_fkey foreign key (tenant_id, customer_id)
        references customers (tenant_id, id) on delete cascade;
