/**
 * Bot logging: the bot's own log lines (to standard error, by level) and the matrix-js-sdk's, which are silenced
 * or routed into the bot's logger so that standard output stays the program's own.
 */
import { logger as sdkGlobalLogger } from 'matrix-js-sdk/lib/logger.js';
import type { ICreateClientOpts } from 'matrix-js-sdk';

export interface BotLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type BotLogLevel = (typeof LEVELS)[number];

/** Log lines to standard error: `2025-01-01T00:00:00.000Z info  <name>: message`. */
export function stderrLogger(name: string, level: BotLogLevel = 'info'): BotLogger {
  const min = LEVELS.indexOf(level);
  const line = (l: BotLogLevel) => (msg: string) => {
    if (LEVELS.indexOf(l) >= min) process.stderr.write(`${new Date().toISOString()} ${l.padEnd(5)} ${name}: ${msg}\n`);
  };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}

export const silentBotLogger: BotLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** Silences (or sets the level of) matrix-js-sdk's own global logger; BOT_SDK_LOG=debug shows it all. */
export function setSdkLogLevel(level: string = process.env.BOT_SDK_LOG ?? 'silent'): void {
  (sdkGlobalLogger as unknown as { setLevel(level: string): void }).setLevel(level);
}

/**
 * Some sdk modules (MatrixRTC) log through console at debug level whatever the global level: this keeps standard
 * output for the program's own output. `verbose`: such lines go to standard error; otherwise they are dropped.
 */
export function quietSdkConsole(verbose = process.env.BOT_SDK_LOG === 'debug'): void {
  const toStderr = (...args: unknown[]) => void process.stderr.write(`${args.map(String).join(' ')}\n`);
  const sink = verbose ? toStderr : () => {};
  console.log = sink;
  console.info = sink;
  console.debug = sink;
  console.trace = sink;
  console.warn = sink;
  console.error = verbose ? toStderr : sink;
}

type SdkLogger = NonNullable<ICreateClientOpts['logger']>;
export function sdkLoggerFor(log: BotLogger, verbose: boolean): SdkLogger {
  const noop = () => {};
  const fmt = (args: unknown[]) => args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
  const l: SdkLogger = {
    trace: noop,
    debug: verbose ? (...a: unknown[]) => log.debug(`sdk: ${fmt(a)}`) : noop,
    info: verbose ? (...a: unknown[]) => log.debug(`sdk: ${fmt(a)}`) : noop,
    warn: verbose ? (...a: unknown[]) => log.warn(`sdk: ${fmt(a)}`) : noop,
    error: verbose ? (...a: unknown[]) => log.error(`sdk: ${fmt(a)}`) : noop,
    getChild: () => l,
  };
  return l;
}
