create table t (id int primary key, happened date, tags text[], counts date[]);
