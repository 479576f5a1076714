create type mood as enum ('sad','meh','ok','happy','ecstatic'); create table t (m mood default 'ok');
