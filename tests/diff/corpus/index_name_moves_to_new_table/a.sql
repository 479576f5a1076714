-- Index names belong to the schema: B's "by_code" sits on a table A drops, A's on a new one.
create table items (id int primary key, code text);
create index by_code on items (code);
