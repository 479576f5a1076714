create table t (status varchar(20) not null default 'new', n bigint not null default 0);
