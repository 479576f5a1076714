create table t (id bigint generated always as identity primary key);
