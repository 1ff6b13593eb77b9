/**
 * A row's identity in another system: its id there, unique per source. Events and registrations store it (unique
 * per table), so whatever brings rows from elsewhere (the import job) creates each one once.
 */
export interface ExternalKey {
  source: string;
  externalId: string;
}
