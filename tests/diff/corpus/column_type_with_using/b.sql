create table t (n text, b integer, ts text); insert into t values ('12', 1, '2020-01-01');
