create function g() returns int language sql as 'select 1';
create view gv as select g() as x;
