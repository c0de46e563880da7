/**
 * The app's screens: starting (a kept session being restored), the landing page (start a room), the join page
 * (an invite link opened without a session), and the chat. A kept session that opens an invite link joins at once.
 */
import { useEffect, useState } from 'preact/hooks';
import type { MatrixClient } from 'matrix-js-sdk';
import { loadSession } from '../session/credentials';
import { firstSync, startClient } from '../session/client';
import { roomIdFromLink } from '../session/invite-link';
import { joinRoom } from '../session/rooms';
import { explainError } from '../session/onboarding';
import { Landing } from './Landing';
import { JoinPage } from './JoinPage';
import { ChatScreen } from './ChatScreen';

type Screen =
  | { name: 'starting' }
  | { name: 'landing' }
  | { name: 'join'; roomId: string }
  | { name: 'chat'; client: MatrixClient; roomId?: string; showInvite?: boolean }
  | { name: 'error'; message: string };

export function App() {
  const [screen, setScreen] = useState<Screen>({ name: 'starting' });

  useEffect(() => {
    const linked = roomIdFromLink(window.location.pathname);
    const session = loadSession();
    if (!session) {
      setScreen(linked ? { name: 'join', roomId: linked } : { name: 'landing' });
      return;
    }
    (async () => {
      const client = await startClient(session);
      await firstSync(client);
      if (linked && client.getRoom(linked)?.getMyMembership() !== 'join') await joinRoom(client, linked);
      if (linked) window.history.replaceState(null, '', '/');
      setScreen({ name: 'chat', client, roomId: linked });
    })().catch((err) => setScreen({ name: 'error', message: explainError(err) }));
  }, []);

  const enter = (client: MatrixClient, roomId: string, showInvite = false) => {
    window.history.replaceState(null, '', '/');
    setScreen({ name: 'chat', client, roomId, showInvite });
  };

  switch (screen.name) {
    case 'starting':
      return (
        <main class="notice-page" aria-busy="true">
          <p role="status">Opening your encrypted rooms…</p>
        </main>
      );
    case 'landing':
      return <Landing onEntered={(client, roomId) => enter(client, roomId, true)} onJoinLink={(roomId) => setScreen({ name: 'join', roomId })} />;
    case 'join':
      return <JoinPage roomId={screen.roomId} onEntered={(client, roomId) => enter(client, roomId)} />;
    case 'chat':
      return <ChatScreen client={screen.client} initialRoomId={screen.roomId} initialShowInvite={screen.showInvite ?? false} />;
    case 'error':
      return (
        <main class="notice-page">
          <h1>Something went wrong</h1>
          <p role="alert">{screen.message}</p>
          <button type="button" onClick={() => window.location.reload()}>
            Try again
          </button>
        </main>
      );
  }
}
