/** Chooses the database from the configuration: PostgreSQL when DATABASE_URL is set, else the embedded one. */
import type { Config } from '../config.js';
import { connectPostgres, type Database, type PoolSettings } from './database.js';
import { openEmbedded } from './embedded.js';

export async function openDatabase(
  config: Pick<Config, 'databaseUrl' | 'dataDir' | 'databasePoolSize' | 'databasePoolTimeoutMs' | 'databaseTxGuard'>,
): Promise<Database> {
  const settings: PoolSettings = { timeoutMs: config.databasePoolTimeoutMs, txGuard: config.databaseTxGuard };
  return config.databaseUrl ? connectPostgres(config.databaseUrl, config.databasePoolSize, settings) : openEmbedded(config.dataDir, settings);
}
