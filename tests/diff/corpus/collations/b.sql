create collation old_one (provider = icu, locale = 'fr');
create table t (name text, label text, plain text collate old_one);
