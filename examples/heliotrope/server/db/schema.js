// Heliotrope's schema (seed 003), written with Drizzle (plain JavaScript, so `node` runs
// the app without a TypeScript step). `drizzle-kit push` builds it;
// dbenv runs that command to build test's template (schema_source = "cmd:...").
import {
  boolean,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  serial,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

export const userRole = pgEnum("user_role", ["participant", "facilitator", "admin"]);

export const users = pgTable(
  "users",
  {
    id: serial("id").primaryKey(),
    email: text("email").notNull(),
    name: text("name").notNull(),
    role: userRole("role").notNull().default("participant"),
    betaTester: boolean("beta_tester").notNull().default(false),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex("users_email_idx").on(table.email)],
);

export const workshops = pgTable("workshops", {
  id: serial("id").primaryKey(),
  title: text("title").notNull(),
  facilitatorId: integer("facilitator_id").references(() => users.id),
  startsAt: timestamp("starts_at", { withTimezone: true }),
});

export const workshopProgress = pgTable("workshop_progress", {
  id: serial("id").primaryKey(),
  workshopId: integer("workshop_id")
    .notNull()
    .references(() => workshops.id, { onDelete: "cascade" }),
  userId: integer("user_id")
    .notNull()
    .references(() => users.id, { onDelete: "cascade" }),
  step: integer("step").notNull().default(0),
  answers: jsonb("answers"),
});

// AI training documents: test documents in development, real ones in production.
export const trainingDocuments = pgTable("training_documents", {
  id: serial("id").primaryKey(),
  persona: text("persona").notNull(),
  title: text("title").notNull(),
  body: text("body").notNull(),
  uploadedBy: integer("uploaded_by").references(() => users.id),
});
