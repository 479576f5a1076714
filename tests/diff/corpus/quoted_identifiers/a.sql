create schema "My Schema";
create table "My Schema"."Order Items" ("Item ID" int primary key, "select" text, "Mixed" int default 1);
create type "My Schema"."Status" as enum ('On', 'Off', 'it''s');
create index "Idx Select" on "My Schema"."Order Items" ("select");
create view "My Schema"."V" as select "Item ID" from "My Schema"."Order Items";
