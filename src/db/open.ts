/** Chooses the database from the configuration: PostgreSQL when DATABASE_URL is set, else the embedded one. */
import type { Config } from '../config.js';
import { connectPostgres, openEmbedded, type Database } from './database.js';

export async function openDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir' | 'databasePoolSize'>): Promise<Database> {
  return config.databaseUrl ? connectPostgres(config.databaseUrl, config.databasePoolSize) : openEmbedded(config.dataDir);
}
