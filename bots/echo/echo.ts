/**
 * The echo bot: answers every message in the rooms it is in with "echo: <the message>", encrypted like everything
 * in SecureComm. A template: copy this folder, keep startBot, and put your own logic in onMessage.
 */
import type { BotConfig } from '../config.js';
import { startBot, type Bot, type IncomingMessage } from '../runtime.js';

export const ECHO_PREFIX = 'echo: ';

/** What the bot says back; the place to put your own bot's logic. */
export function echoReply(body: string): string {
  return `${ECHO_PREFIX}${body}`;
}

async function onMessage({ bot, room, event, body, msgtype }: IncomingMessage): Promise<void> {
  // Notices are what bots send: answering them would let two bots echo each other for ever.
  if (msgtype === 'm.notice') return;
  // The runtime has already decrypted the event; sendText encrypts the reply for every device in the room
  // (sharing a fresh room key first when members or their devices changed).
  await bot.sendText(room.roomId, echoReply(body), {
    msgtype: 'm.notice',
    'm.relates_to': { 'm.in_reply_to': { event_id: event.getId() } },
  });
  bot.log.debug(`answered ${event.getId()} in ${room.roomId}`);
}

/** Starts the echo bot (auto-joins on invite); resolves once it is syncing. */
export function startEchoBot(config: BotConfig): Promise<Bot> {
  return startBot({ deviceName: 'SecureComm echo bot', ...config }, { onMessage });
}
