create table account (id int primary key, name text);
create table orders (id int primary key, account_id int references account);
create sequence accounts_seq owned by account.id;
