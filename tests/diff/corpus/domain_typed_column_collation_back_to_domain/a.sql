create domain dtext as text collate "C";
create table t (a dtext, b text);
