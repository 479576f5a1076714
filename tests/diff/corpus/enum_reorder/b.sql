create type e as enum ('high','mid','low'); create table t (x e);
