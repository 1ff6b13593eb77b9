/** Every table, for drizzle-kit and the typed client. Each domain owns its own schema file. */
export * from '../users/schema';
export * from '../slug/schema';
export * from '../teams/schema';
export * from '../events/schema';
export * from '../registrations/schema';
export * from '../idempotency/schema';
export * from '../cards/schema';
export * from '../import/schema';
