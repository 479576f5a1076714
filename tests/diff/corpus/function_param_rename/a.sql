create function f(new_name int) returns int language sql as 'select new_name';
