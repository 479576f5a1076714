create table t (s text not null default 'on');
insert into t values ('off');
