create type "My Type" as enum ('a', 'b');
create table t ("Tags" "My Type"[] default '{a}'::"My Type"[], id int generated always as identity (sequence name "Custom Seq" start 5));
