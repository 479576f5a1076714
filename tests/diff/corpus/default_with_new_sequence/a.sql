create sequence order_no start 1000;
create table t (id int default nextval('order_no'), code text default 'x' || nextval('order_no')::text);
