create type mood as enum ('sad', 'it''s ok', 'happy', 'Ünïcode "q"');
create table t (m mood default 'it''s ok');
