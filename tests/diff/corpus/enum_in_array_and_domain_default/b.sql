create type lvl as enum ('low', 'mid', 'high');
create table t (levels lvl[] default '{low}', l lvl default 'low' not null);
