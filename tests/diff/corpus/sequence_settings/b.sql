create sequence s1 as integer increment by 1 start with 1;
create sequence s3;
create table t (id int);
