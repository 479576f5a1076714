create type "My Type" as enum ('a');
create table t ("Tags" "My Type"[] default '{}'::"My Type"[], id int generated always as identity);
