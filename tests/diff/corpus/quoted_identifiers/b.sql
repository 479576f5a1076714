create schema "My Schema";
create table "My Schema"."Order Items" ("Item ID" int primary key, "select" varchar(3));
create type "My Schema"."Status" as enum ('On');
