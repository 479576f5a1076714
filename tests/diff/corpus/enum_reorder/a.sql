create type e as enum ('low','mid','high'); create table t (x e);
