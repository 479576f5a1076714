-- A database that drifted from models.py: a hand-made hotfix and a forgotten migration.
CREATE TYPE orderstatus AS ENUM ('new', 'paid', 'shipped');      -- 'cancelled' never added
CREATE TABLE customers (
    id SERIAL PRIMARY KEY,
    email VARCHAR(255) NOT NULL,                                   -- shorter, no unique
    name VARCHAR(200) NOT NULL,
    created_at TIMESTAMP WITHOUT TIME ZONE DEFAULT now() NOT NULL,
    legacy_code TEXT                                               -- dropped from the models
);
CREATE TABLE orders (
    id SERIAL PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),        -- no ON DELETE CASCADE
    status orderstatus NOT NULL,
    total NUMERIC(10, 2) NOT NULL                                   -- narrower
);
CREATE INDEX ix_orders_customer ON orders (customer_id);
