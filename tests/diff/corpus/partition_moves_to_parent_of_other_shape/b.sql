create table by_list (id bigint not null, name text not null) partition by list (name);
create table part partition of by_list for values in ('a');
