create table accounts (id int primary key, name text);
create table orders (id int primary key, account_id int references accounts);
create sequence accounts_seq owned by accounts.id;
