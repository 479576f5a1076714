create schema "Sch ""q""";
create type "Sch ""q"""."En Um" as enum ('Ok "x"');
create table "Sch ""q"""."T a" ("Id" int, "Col ""x""" "Sch ""q"""."En Um", "Lower" text,
  constraint "PK t" primary key ("Id", "Lower"));
create index "Ix ""1""" on "Sch ""q"""."T a" ("Lower");
create view "Sch ""q"""."V w" as select "Id" from "Sch ""q"""."T a";
