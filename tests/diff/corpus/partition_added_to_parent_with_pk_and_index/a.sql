create table m (id int, d date, primary key (id, d)) partition by range (d);
create index m_d on m (d);
create table m1 partition of m for values from ('2020-01-01') to ('2021-01-01');
create table m2 partition of m for values from ('2021-01-01') to ('2022-01-01');
create function mt() returns trigger language plpgsql as $$ begin return new; end $$;
create trigger m_trg before insert on m for each row execute function mt();
