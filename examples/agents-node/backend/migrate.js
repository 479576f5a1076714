// `npm run migrate`: create this environment's tables when they are missing (never drops).
import { banner, connect, quoted, tables } from "./db.js";

const { agents, sessions, conversations } = tables;
const client = await connect();
try {
  banner();
  await client.query(`CREATE TABLE IF NOT EXISTS ${quoted(agents)} (
    id serial PRIMARY KEY,
    name varchar(100) NOT NULL UNIQUE,
    model varchar(50) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now())`);
  await client.query(`CREATE TABLE IF NOT EXISTS ${quoted(sessions)} (
    id serial PRIMARY KEY,
    agent_id integer NOT NULL REFERENCES ${quoted(agents)} (id) ON DELETE CASCADE,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
    started_at timestamptz NOT NULL DEFAULT now())`);
  await client.query(`CREATE TABLE IF NOT EXISTS ${quoted(conversations)} (
    id serial PRIMARY KEY,
    session_id integer NOT NULL REFERENCES ${quoted(sessions)} (id) ON DELETE CASCADE,
    role varchar(20) NOT NULL,
    content text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now())`);
  console.log("tables ready");
} finally {
  await client.end();
}
