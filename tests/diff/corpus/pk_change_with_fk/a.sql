create table p (id bigint primary key, code text unique);
create table c (id int primary key, p_id bigint references p(id) on delete cascade);
