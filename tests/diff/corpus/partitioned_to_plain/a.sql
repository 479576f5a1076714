create table m (id int, note text);
create index m_id on m (id);
