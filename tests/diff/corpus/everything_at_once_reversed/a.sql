create schema app;
create type app.role as enum ('admin', 'member');
create table app.users (
  id uuid primary key,
  email varchar(200) not null,
  role app.role not null default 'member',
  created_at timestamp not null default now(),
  legacy int
);
create table app.posts (
  id serial primary key,
  author uuid references app.users (id),
  title varchar(100) not null,
  published boolean default false
);
create index posts_author on app.posts (author);
create view app.published_posts as select p.id, p.title from app.posts p where p.published;
create table app.audit (id int);
