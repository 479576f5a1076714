create collation nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
create collation german (provider = icu, locale = 'de');
create table t (name text collate nocase, label text collate german, plain text);
comment on collation german is 'phone book';
