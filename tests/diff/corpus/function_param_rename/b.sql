create function f(old_name int) returns int language sql as 'select old_name';
