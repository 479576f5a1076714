create type mood as enum ('zero','sad','ok'); create table t (m mood);
