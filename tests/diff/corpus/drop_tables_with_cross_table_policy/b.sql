create table keep (id int);
create table members (user_name text, team bigint);
create table docs (team bigint, body text);
alter table docs enable row level security;
create policy team_docs on docs using (team in (select m.team from members m where m.user_name = current_user));
