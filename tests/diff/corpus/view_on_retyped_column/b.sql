create table orders (id int, total integer, status text);
create view order_totals as select status, sum(total) as total from orders group by status;
create materialized view big_orders as select id, total from orders where total > 100;
