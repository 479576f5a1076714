create extension if not exists "uuid-ossp";
create table t (id uuid default uuid_generate_v4());
