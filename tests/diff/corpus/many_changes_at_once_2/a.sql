create schema app;
create type app.status as enum ('new', 'done');
create domain app.email as text check (value like '%@%');
create sequence app.order_no start 1000;
create table app.customer (id bigint generated always as identity primary key, email app.email not null unique, created timestamptz default now());
create table app.orders (id bigint primary key default nextval('app.order_no'), customer_id bigint not null references app.customer on delete cascade,
  status app.status not null default 'new', total numeric(12,2) check (total >= 0), note text collate "C");
create index orders_open on app.orders (customer_id) where status = 'new';
create view app.open_orders with (security_barrier) as select o.id, c.email from app.orders o join app.customer c on c.id = o.customer_id where o.status = 'new';
create function app.order_total(cid bigint) returns numeric language sql stable as 'select sum(total) from app.orders where customer_id = cid';
create materialized view app.totals as select customer_id, sum(total) as s from app.orders group by 1;
create unique index totals_c on app.totals (customer_id);
alter table app.orders enable row level security;
create policy own on app.orders using (customer_id > 0);
grant usage on schema app to @ROLE1@; grant select on app.open_orders to @ROLE1@;
revoke execute on function app.order_total(bigint) from public;
comment on table app.orders is 'orders';
alter table app.orders alter note set statistics 200;
