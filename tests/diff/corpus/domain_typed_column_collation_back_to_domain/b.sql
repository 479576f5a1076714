create domain dtext as text collate "C";
create table t (a dtext collate "POSIX", b dtext);
