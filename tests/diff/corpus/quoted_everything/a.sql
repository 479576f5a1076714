create schema "Sch ""q""";
create type "Sch ""q"""."En Um" as enum ('it''s', 'Ok "x"');
create sequence "Sch ""q"""."Seq-1";
create table "Sch ""q"""."T a" ("Id" int default nextval('"Sch ""q"""."Seq-1"'), "Col ""x""" "Sch ""q"""."En Um", "Lower" text collate "C",
  constraint "PK t" primary key ("Id"), constraint "Chk ""c""" check ("Lower" <> ''));
create index "Ix ""1""" on "Sch ""q"""."T a" ("Lower") where "Id" > 0;
create function "Sch ""q"""."Fn X"("A b" int) returns int language sql as 'select "A b"';
create function "Sch ""q"""."Trg F"() returns trigger language plpgsql as $$ begin return new; end $$;
create trigger "Trg ""t""" before insert on "Sch ""q"""."T a" for each row execute function "Sch ""q"""."Trg F"();
alter table "Sch ""q"""."T a" enable row level security;
create policy "Pol p" on "Sch ""q"""."T a" using ("Id" > 0);
create view "Sch ""q"""."V w" as select "Id", "Col ""x""" from "Sch ""q"""."T a";
comment on column "Sch ""q"""."T a"."Col ""x""" is 'c';
comment on policy "Pol p" on "Sch ""q"""."T a" is 'p';
grant select ("Lower") on "Sch ""q"""."T a" to @ROLE1@;
