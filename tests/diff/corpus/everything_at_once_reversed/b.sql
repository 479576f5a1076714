create schema app;
create extension if not exists pgcrypto;
create type app.role as enum ('admin', 'member', 'guest');
create domain app.slug as text check (value ~ '^[a-z0-9-]+$');
create table app.users (
  id uuid primary key default gen_random_uuid(),
  email text not null unique,
  role app.role not null default 'member',
  slug app.slug,
  created_at timestamptz not null default now()
);
create table app.posts (
  id bigint generated always as identity primary key,
  author uuid not null references app.users (id) on delete cascade,
  title text not null,
  body text,
  published boolean not null default false,
  search tsvector generated always as (to_tsvector('simple', coalesce(title, ''))) stored
);
create index posts_search on app.posts using gin (search);
create index posts_author on app.posts (author) where published;
create view app.published_posts as select p.id, p.title, u.email from app.posts p join app.users u on u.id = p.author where p.published;
create function app.touch() returns trigger language plpgsql as $$ begin new.created_at := now(); return new; end $$;
create trigger users_touch before update on app.users for each row execute function app.touch();
alter table app.posts enable row level security;
create policy own_posts on app.posts using (author::text = current_setting('app.user', true));
comment on table app.users is 'people';
grant usage on schema app to @ROLE1@;
grant select on app.published_posts to @ROLE1@;
