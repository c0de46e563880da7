/**
 * `npm run bot:echo`: the echo bot as a process, configured from the environment:
 * HOMESERVER_URL, BOT_DATA_DIR, and BOT_USER + BOT_PASSWORD or BOT_ACCESS_TOKEN (only needed on the first start:
 * the session is kept in BOT_DATA_DIR). BOT_LOG_LEVEL (debug|info|warn|error), BOT_SDK_LOG=debug for the sdk's logs.
 */
import { BotError, botConfigFromEnv } from '../config.js';
import { quietSdkConsole, setSdkLogLevel, stderrLogger, type BotLogLevel } from '../log.js';
import { stopOnSignals } from '../runtime.js';
import { startEchoBot } from './echo.js';

const log = stderrLogger('echo', (process.env.BOT_LOG_LEVEL as BotLogLevel | undefined) ?? 'info');
setSdkLogLevel();
quietSdkConsole();
try {
  const bot = await startEchoBot({ ...botConfigFromEnv(), logger: log });
  stopOnSignals(bot);
  await bot.stopped;
  process.exit(0);
} catch (err) {
  log.error(err instanceof BotError ? err.message : ((err as Error).stack ?? String(err)));
  process.exit(1);
}
