create type st as enum ('draft', 'live', 'archived');
create table doc (id int, s st not null default 'draft');
create index doc_live on doc (id) where s = 'live';
create view live_docs as select id from doc where s = 'live'::st;
create function is_live(d doc) returns bool language sql as 'select d.s = ''live''';
