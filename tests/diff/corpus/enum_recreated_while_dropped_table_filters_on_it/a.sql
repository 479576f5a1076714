-- The enum loses a value (recreated) and the table goes: its partial index and check name
-- the old type, so they must go before the columns are converted.
create type mood as enum ('ok', 'late');
