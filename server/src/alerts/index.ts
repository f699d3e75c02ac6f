/** What other parts of the server (the live stream, the escalation timer) use from alerts/. */
export { alertView, AlertView, type AlertNoteView } from './view';
export { escalateOverdueAlerts, type EscalatedAlert } from './service';
export { registerAlertRoutes } from './routes';

import type { Kysely } from 'kysely';
import type { DB } from '@ccm/db';
import { notesFor } from './repository';
import { alertView as view } from './view';

/** The API view of one alert by id, unscoped: the caller (the live stream) scopes delivery. */
export async function loadAlertView(db: Kysely<DB>, id: string) {
  const row = await db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  const notes = await notesFor(db, [id]);
  return view(row, notes.get(id) ?? []);
}
